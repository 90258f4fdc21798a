"""TaggerBase.tag / iter_tag on both engines: TaggedSentence results from texts, token lists and InputSentences."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tagger.inference import Tagger
from tagger.numpy_tagger import NumpyTagger
from tagger.results import InputSentence, TaggedSentence
from tests.unit.test_numpy_tagger import random_tagger

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_tagger(tmp_path_factory.mktemp("tagging") / "model")


@pytest.fixture(params=["torch", "numpy"])
def engine(request: pytest.FixtureRequest, model_dir: Path):
    return Tagger.load(model_dir, device="cpu") if request.param == "torch" else NumpyTagger.load(model_dir)


def test_tag_a_text_gives_sentences_with_offsets_into_it(engine) -> None:
    text = "John Smith lives in Paris.  Mary flew to New York."
    results = engine.tag(text)
    assert [r.tokens for r in results] == [("John", "Smith", "lives", "in", "Paris", "."), ("Mary", "flew", "to", "New", "York", ".")]
    predicted = engine.predict([list(r.tokens) for r in results])
    for result, tags in zip(results, predicted):
        assert isinstance(result, TaggedSentence) and list(result.tags) == tags and result.scheme == "IOB2"
        assert all(text[start:end] == token for token, (start, end) in zip(result.tokens, result.offsets))
        assert result.source is None and result.probs is None
        for span in result.spans:
            assert text[span.start_char : span.end_char] == span.text and span.score is None
    assert results[1].offsets[0] == (text.index("Mary"), text.index("Mary") + 4)


def test_tag_token_lists_and_texts_in_one_call(engine) -> None:
    tokens = ["Peter", "Blackburn", "met", "Mary", "."]
    by_tokens, by_text = engine.tag([tokens, "Peter Blackburn met Mary."])
    assert by_tokens.tokens == by_text.tokens == tuple(tokens) and by_tokens.tags == by_text.tags
    assert by_tokens.offsets is None and by_tokens.text is None
    assert [s.start_char for s in by_tokens.spans] == [None] * len(by_tokens.spans)
    assert [s.text for s in by_tokens.spans] == [" ".join(tokens[s.start : s.end]) for s in by_tokens.spans]
    assert engine.tag([]) == [] and engine.tag([[]])[0].tags == ()


def test_iter_tag_is_lazy_and_keeps_the_source(engine) -> None:
    pulled = 0

    def sentences() -> Iterator[InputSentence]:
        nonlocal pulled
        for _ in range(10_000):
            pulled += 1
            yield InputSentence.from_tokens(["John", "Smith", "lives", "in", "Paris", "."], source="-")

    results = engine.iter_tag(sentences(), batch_size=4, chunk_size=8)
    first = next(results)
    assert first.source == "-" and list(first.tags) == engine.predict([list(first.tokens)])[0]
    assert pulled <= 16
    assert sum(1 for _ in results) == 9_999


def test_bytes_are_refused(engine) -> None:
    with pytest.raises(TypeError, match="str"):
        engine.tag(b"John lives in Paris.")


def test_predicting_leaves_the_allocator_alone(model_dir: Path) -> None:
    """A library call must not change process state: mallopt is the CLI's opt-in, never predict's."""
    code = (
        "import tagger.allocator as allocator\n"
        "from tagger.inference import Tagger\n"
        "from tagger.numpy_tagger import NumpyTagger\n"
        f"for engine in (Tagger.load({str(model_dir)!r}, device='cpu'), NumpyTagger.load({str(model_dir)!r})):\n"
        "    engine.predict([['John', 'lives', 'in', 'Paris']])\n"
        "    engine.tag('John lives in Paris.')\n"
        "print(allocator._tuned)\n"
    )
    env = {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["False"]
