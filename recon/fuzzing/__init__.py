"""Fuzzing recon's readers: damaged files (bit flips, truncation, blocks) through the real commands."""
