"""Small trained weights shipped with recon (``*.safetensors`` + ``manifest.json``), and how to load them.

See :mod:`recon.weights.registry`.
"""
