#!/usr/bin/env bash
# The GPU checks and benchmarks in one go (what the README's GPU rows come from):
#   the GPU tests, training and tagging throughput in float32 and with mixed precision,
#   and the reference CoNLL-2003 model trained on the GPU.
#
#   bash bench/gpu.sh [OUT_DIR]   # optional: TAGGER_DATA, TAGGER_EMBEDDINGS, ACCURACY_MINUTES, ACCURACY_OUT (models)
#
# Each step writes its log to OUT_DIR and runs whether or not the one before it passed.
set -u
out=${1:-runs/gpu}
mkdir -p "$out"
python=${PYTHON:-python}
data=${TAGGER_DATA:-../shared/data}
embeddings=${TAGGER_EMBEDDINGS:+--embeddings $TAGGER_EMBEDDINGS}
export PYTHONUNBUFFERED=1

step() {  # step NAME COMMAND...: runs COMMAND, its output to the terminal and to OUT_DIR/NAME.log
    local name=$1
    shift
    echo "== $name: $*"
    local start=$SECONDS
    "$@" 2>&1 | tee "$out/$name.log"
    echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start)) s"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$out/gpu.txt"
step gpu-tests "$python" -m pytest -q -p no:cacheprovider tests/gpu
step throughput-fp32 "$python" bench/throughput.py --variants reference --device cuda --batch-sizes 1,32,256,1024 --epochs 2 \
    --data-dir "$data" $embeddings
step throughput-amp "$python" bench/throughput.py --variants reference --device cuda --batch-sizes 256,1024 --epochs 2 \
    --mixed-precision --data-dir "$data" $embeddings
step accuracy "$python" bench/accuracy.py --tasks conll2003 --variants reference --options '{"device": "cuda"}' \
    --max-minutes "${ACCURACY_MINUTES:-3}" --data-dir "$data" $embeddings --out "${ACCURACY_OUT:-$out/accuracy}"
