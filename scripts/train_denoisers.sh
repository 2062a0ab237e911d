#!/usr/bin/env bash
# Train the shipped 2D denoisers and ship them into recon/weights (one torch thread each, two at a time).
# On this 2-core CPU each took the wall time its manifest entry records; on CUDA it runs unchanged.
# The photograph model fine-tunes drunet-small-general, so it starts once that is shipped. Its extra images:
#   apt-get install plasma-workspace-wallpapers mate-backgrounds libjxl-testdata
#   pip install -e ".[train]"
set -euo pipefail
cd "$(dirname "$0")/.."
recon --threads 1 train denoiser denoiser-general --output-dir runs/denoiser-general --quiet &
recon --threads 1 train denoiser denoiser-phantom --output-dir runs/denoiser-phantom --quiet &
wait
python scripts/ship_weights.py runs/denoiser-general runs/denoiser-phantom
recon --threads 1 train denoiser denoiser-photo --output-dir runs/denoiser-photo --quiet
python scripts/ship_weights.py runs/denoiser-photo
