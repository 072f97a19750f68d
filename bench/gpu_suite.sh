#!/usr/bin/env bash
# The GPU checks, prepared to run in one device call of at most 8 minutes on one GPU:
#   1. the CUDA-graph tests (tests/test_cuda_graphs.py, the images_ssl recipe's steps captured included);
#   2. images_ssl as shipped (FixMatch-style, CUDA graphs on) on the colour set, 140 epochs, and on
#      Fashion-MNIST with 100 labels, 20 epochs, split 1 each, through bench/own_images.py; the JSON
#      goes to OUT, and every run's metrics.jsonl to OUT/metrics.tgz even when a run is cut short.
# Where a GPU is lent, from the repository root here:
#   mkdir -p .devdata/data && cp -r ../shared/data/mnist ../shared/data/fashion-mnist .devdata/data/
#   grep -qx /.devdata/ .git/info/exclude || echo /.devdata/ >> .git/info/exclude
# then on the device machine (carry .devdata):  bash bench/gpu_suite.sh "$OUT"
set -uo pipefail
OUT=${1:-bench/results}
DATA=${GANLEARN_DATA:-.devdata/data}
WORK=/tmp/own_images
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1  # the machine has torch and the other needs; nothing to install
trap 'find "$WORK" -name metrics.jsonl | tar czf "$OUT/metrics.tgz" -T - 2>/dev/null' EXIT
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python -c "import torch; print('torch', torch.__version__)"
timeout 90 python -m pytest -q -p no:cacheprovider tests/test_cuda_graphs.py
GPU=(--set train.device=cuda --set train.cuda_graphs=true --set train.eval_batch_size=2000)
timeout 180 python bench/own_images.py --data-dir "$DATA" --work "$WORK" --datasets colour \
  --methods images_ssl "${GPU[@]}" --out "$OUT/own_images_gpu_colour.json"
timeout 210 python bench/own_images.py --data-dir "$DATA" --work "$WORK" --datasets fashion100 \
  --methods images_ssl "${GPU[@]}" --set train.epochs=20 --out "$OUT/own_images_gpu_fashion100.json"
