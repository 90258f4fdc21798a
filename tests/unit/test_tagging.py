"""TaggerBase.tag / iter_tag on both engines: TaggedSentence results from texts, token lists and InputSentences."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys
from dataclasses import astuple
from pathlib import Path
from typing import Iterator, List

import numpy as np
import pytest

from tagger.inference import Tagger
from tagger.numpy_tagger import NumpyTagger
from tagger.results import InputSentence, ScoredPath, TaggedSentence
from tagger.schemes import Span
from tests.unit.test_numpy_tagger import TOKENS, random_tagger

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


# ----------------------------------------------------------------------------- confidence and alternatives (issue 12)

SHORT = [["John", "Smith", "lives"], ["in", "Paris"], ["Unseen"]]  # short enough to score every path


@pytest.fixture(scope="module", params=["crf", "softmax"])
def kind_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    options = {} if request.param == "crf" else {"crf": False}
    return random_tagger(tmp_path_factory.mktemp(f"confidence-{request.param}") / "model", seed=3, **options)


@pytest.fixture(scope="module")
def both_engines(kind_dir: Path):
    return Tagger.load(kind_dir, device="cpu"), NumpyTagger.load(kind_dir)


def all_paths(engine, index: int, sentences: List[List[str]] = SHORT):
    """Every path of the training scheme of ``sentences[index]`` with its probability and its tags as
    ``predict`` writes them. (The emissions of the whole list: a random model's padding rows make a
    sentence's emissions depend on the longest word of its batch.)
    """
    tokens = sentences[index]
    emissions = engine.emissions(sentences)[index].astype(np.float64)
    num_tags = emissions.shape[1]
    scores = engine.transition_scores()
    if scores is None:
        scores = (np.zeros(num_tags), np.zeros((num_tags, num_tags)), np.zeros(num_tags))
    start, transitions, end = (part.astype(np.float64) for part in scores)
    paths, totals = [], []
    for path in itertools.product(range(num_tags), repeat=len(tokens)):
        moves = [start[path[0]], end[path[-1]]] + [transitions[a, b] for a, b in zip(path, path[1:])]
        if min(moves) <= -5000:
            continue
        paths.append(path)
        totals.append(sum(moves) + emissions[np.arange(len(path)), path].sum())
    totals = np.array(totals)
    probs = np.exp(totals - totals.max())
    probs /= probs.sum()
    return [(path, p, engine._to_output(list(path))) for path, p in zip(paths, probs)]


def test_predict_proba_is_the_probability_of_each_written_label(both_engines) -> None:
    for engine in both_engines:
        labels = engine.labels
        for index, (tokens, got) in enumerate(zip(SHORT, engine.predict_proba(SHORT))):
            expected = np.zeros((len(tokens), len(labels)))
            for _, p, tags in all_paths(engine, index):
                expected[np.arange(len(tokens)), [labels.index(tag) for tag in tags]] += p
            assert got.shape == (len(tokens), len(labels))
            np.testing.assert_allclose(got, expected, atol=1e-9)


def test_span_scores_are_the_probability_of_the_entity(both_engines) -> None:
    from tagger.schemes import spans_from_tags

    for engine in both_engines:
        scored = engine.predict_spans(SHORT, scores=True)
        assert [[Span(s.label, s.start, s.end) for s in spans] for spans in scored] == engine.predict_spans(SHORT)
        for index, spans in enumerate(scored):
            paths = all_paths(engine, index)
            for span in spans:
                plain = Span(span.label, span.start, span.end)
                expected = sum(p for _, p, tags in paths if plain in spans_from_tags(tags, engine.scheme))
                if engine.transition_scores() is not None:  # one tag sequence per entity on allowed paths
                    assert span.score == pytest.approx(expected, abs=1e-9)
                else:  # independent tokens: these exact tags, the entity closed on both sides (at most the above)
                    assert 0 < span.score <= expected + 1e-9


def test_nbest_first_path_is_predict_and_the_rest_are_brute_force(both_engines) -> None:
    for engine in both_engines:
        assert [paths[0].tags for paths in engine.predict_nbest(TOKENS, 4)] == [tuple(tags) for tags in engine.predict(TOKENS)]
        for index, got in enumerate(engine.predict_nbest(SHORT, 5)):
            best = sorted(all_paths(engine, index), key=lambda item: -item[1])[:5]
            assert [path.tags for path in got] == [tuple(tags) for _, _, tags in best]
            np.testing.assert_allclose([path.probability for path in got], [p for _, p, _ in best], atol=1e-9)
            assert all(a.score >= b.score for a, b in zip(got, got[1:]))
    assert both_engines[0].predict_nbest([[]], 3) == [[ScoredPath((), 0.0, 1.0)]]
    with pytest.raises(ValueError, match="k must be between 1"):
        both_engines[1].predict_nbest(SHORT, 0)


def test_numpy_and_torch_give_the_same_confidence(both_engines) -> None:
    torch_engine, numpy_engine = both_engines
    for ours, theirs in zip(numpy_engine.predict_proba(TOKENS, batch_size=3), torch_engine.predict_proba(TOKENS)):
        np.testing.assert_allclose(ours, theirs, atol=1e-4)
        np.testing.assert_allclose(ours.sum(axis=1), 1.0, atol=1e-9)
    for ours, theirs in zip(numpy_engine.predict_spans(TOKENS, scores=True), torch_engine.predict_spans(TOKENS, scores=True)):
        assert [s[:3] for s in map(astuple, ours)] == [s[:3] for s in map(astuple, theirs)]
        np.testing.assert_allclose([s.score for s in ours], [s.score for s in theirs], atol=1e-4)
    for ours, theirs in zip(numpy_engine.predict_nbest(TOKENS, 3), torch_engine.predict_nbest(TOKENS, 3)):
        assert [p.tags for p in ours] == [p.tags for p in theirs]
        np.testing.assert_allclose([p.probability for p in ours], [p.probability for p in theirs], atol=1e-4)


def test_tag_with_scores_probs_and_nbest(both_engines) -> None:
    for engine in both_engines:
        text = "John Smith lives in Paris.  Mary flew to New York."
        plain = engine.tag(text)
        (first, second) = engine.tag(text, scores=True, probs=True, nbest=3)
        for result, unscored in zip((first, second), plain):
            assert result.tags == unscored.tags and result.offsets == unscored.offsets
            assert [dataclasses.replace(s, score=None) for s in result.spans] == list(unscored.spans)
            assert result.labels == tuple(engine.labels) and len(result.probs) == len(result.tokens)
            assert result.nbest[0].tags == result.tags and len(result.nbest) == 3
        expected = engine.predict_spans([list(first.tokens)], scores=True)[0]
        assert [s.score for s in first.spans] == [s.score for s in expected]
        np.testing.assert_allclose(first.probs, engine.predict_proba([list(first.tokens)])[0])
        only_scores = engine.tag(text, scores=True)[0]
        assert only_scores.probs is None and only_scores.nbest is None and all(s.score is not None for s in only_scores.spans)
