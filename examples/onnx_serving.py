"""Tag stdin with an exported model on onnxruntime alone: no torch in the process (JSON lines out).

    tagger export --model models/ner --quantize int8 ner.onnx
    echo "John Smith lives in Paris." | python examples/onnx_serving.py ner.onnx

A deployment needs tagger, numpy and onnxruntime, not torch.
"""

from __future__ import annotations

import sys

import tagger
from tagger.writers import to_jsonl


def main(path: str) -> None:
    model = tagger.load(path)  # an .onnx file: the onnxruntime engine
    for sentence in model.iter_tag(sys.stdin.read(), scores=True):
        sys.stdout.write(to_jsonl(sentence))  # one line, its newline included
    assert "torch" not in sys.modules, "the ONNX engine imports no torch"


if __name__ == "__main__":
    main(sys.argv[1])
