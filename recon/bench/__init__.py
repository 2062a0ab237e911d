"""Benchmarks: the same problem solved by recon and by its peers, in one process with one torch thread."""
