"""A spaCy pipeline with the tagger as its entity recogniser: tag texts, save the pipeline, load it back.

    pip install tagger[spacy]
    python examples/spacy_pipeline.py models/ner "John Smith lives in Paris." "Mary flew to New York."

The component comes from tagger's ``spacy_factories`` entry point: this script never imports tagger.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import spacy


def main(model: str, texts: list) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("bilstm_tagger", config={"model": model, "batch_size": 64})
    for doc in nlp.pipe(texts, batch_size=32):
        print(" | ".join(f"{ent.text} {ent.label_} {ent._.tagger_score:.2f}" for ent in doc.ents))
    with tempfile.TemporaryDirectory() as tmp:
        nlp.to_disk(Path(tmp) / "pipeline")  # the model travels inside the pipeline directory
        reloaded = spacy.load(Path(tmp) / "pipeline")
        assert [e.text for e in reloaded(texts[0]).ents] == [e.text for e in nlp(texts[0]).ents]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or ["John Smith lives in Paris."])
