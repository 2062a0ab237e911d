"""Experiments: building operator, prior and solver from a config, and the built-in demo."""
