#!/usr/bin/env bash
# Train the two shipped diffusion score networks and ship them into recon/weights (one torch thread each, in
# parallel). On this 2-core CPU each stopped at its config's training.time_limit (50 min) or step count, as its
# manifest entry records; on CUDA it runs unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
recon --threads 1 train diffusion diffusion-phantom --output-dir runs/diffusion-phantom --quiet &
recon --threads 1 train diffusion diffusion-natural --output-dir runs/diffusion-natural --quiet &
wait
python scripts/ship_weights.py runs/diffusion-phantom runs/diffusion-natural
