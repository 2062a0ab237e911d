#!/usr/bin/env bash
# Train the two shipped denoisers and ship them into recon/weights (one torch thread each, in parallel).
# On this 2-core CPU each took the wall time its manifest entry records; on CUDA it runs unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
recon --threads 1 train denoiser denoiser-general --output-dir runs/denoiser-general --quiet &
recon --threads 1 train denoiser denoiser-phantom --output-dir runs/denoiser-phantom --quiet &
wait
python scripts/ship_weights.py runs/denoiser-general runs/denoiser-phantom
