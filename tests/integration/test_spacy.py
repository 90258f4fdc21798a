"""The spaCy component ``bilstm_tagger`` against ``tagger.load(model).tag`` on the same tokens (spacy.blank only)."""

from __future__ import annotations

import inspect
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, List, Tuple

import pytest

import tagger
from tagger.errors import ConfigError, ModelFileError
from tests.integration.tiny_models import train_ner, train_ptb, train_upos

spacy = pytest.importorskip("spacy", reason="the spaCy component needs the spacy extra (pip install .[spacy])")

REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    "John Smith lives in Paris.",
    "Mary  flew to New York with British Airways .\n\nGerman officials met in Berlin.",
    " Rain fell on 1996-08-22 in London and Rome.\t",
    "Peter Blackburn",
    "",
    "\n\n",
    "The European Commission said on Thursday it disagreed.",
    "Peter Blackburn lives in\n\nLondon.",
]

Ent = Tuple[str, str, int, int, Any]  # text, label, start, end, score


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spacy-models")
    train_ner(root / "ner")
    train_upos(root / "upos")
    train_ptb(root / "ptb")
    return root


def pipeline(model: Path, **config: Any) -> Any:
    nlp = spacy.blank("en")
    nlp.add_pipe("bilstm_tagger", config={"model": str(model), **config})
    return nlp


def ents(doc: Any) -> List[Ent]:
    return [(e.text, e.label_, e.start, e.end, e._.tagger_score) for e in doc.ents]


def tag(model: Any, token_lists: List[List[str]]) -> List[Any]:
    """The reference: the library's own tagging of these tokens (with span scores where the engine gives them)."""
    loaded = tagger.load(model) if isinstance(model, (str, Path)) else model
    if "scores" in inspect.signature(loaded.iter_tag).parameters:
        return list(loaded.iter_tag(token_lists, 256, scores=True))
    return loaded.tag(token_lists)


def expected_ents(model: Path, doc: Any) -> List[Ent]:
    """``tag`` on the doc's tokens without whitespace ones, its spans mapped back to the doc's token indices."""
    indices = [token.i for token in doc if not token.is_space]
    if not indices:
        return []
    [sentence] = tag(model, [[doc[i].text for i in indices]])
    spans = [(indices[s.start], indices[s.end - 1] + 1, s) for s in sentence.spans]
    return [(doc[start:end].text, s.label, start, end, s.score) for start, end, s in spans]


def test_ents_are_the_tagger_spans_on_spacys_tokens(models: Path) -> None:
    nlp = pipeline(models / "ner")
    docs = [nlp(text) for text in TEXTS]
    assert any(token.is_space for doc in docs for token in doc), "the texts must have whitespace tokens"
    for doc in docs:
        assert ents(doc) == expected_ents(models / "ner", doc)
    assert ("John Smith", "PER") in [(e[0], e[1]) for e in ents(docs[0])], "a model that fits the toy corpus finds John Smith"
    assert all(not doc[e.start].is_space and not doc[e.end - 1].is_space for doc in docs for e in doc.ents)
    assert all(token.ent_iob_ == "O" for doc in docs for token in doc if token.is_space)
    if "scores" in inspect.signature(tagger.load(models / "ner").iter_tag).parameters:
        assert all(0.0 < e._.tagger_score <= 1.0 for doc in docs for e in doc.ents)


def test_whitespace_tokens_never_reach_the_model(models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nlp = pipeline(models / "ner")
    component = nlp.get_pipe("bilstm_tagger")
    seen: List[Tuple[str, ...]] = []
    real = component._loaded().iter_tag

    def spy(inputs: Any, *args: Any, **kwargs: Any) -> Any:
        inputs = list(inputs)
        seen.extend(sentence.tokens for sentence in inputs)
        return real(inputs, *args, **kwargs)

    monkeypatch.setattr(component._tagger, "iter_tag", spy)
    doc = nlp("Mary  flew to\n\nNew York .")
    assert seen == [("Mary", "flew", "to", "New", "York", ".")]
    assert [token.text for token in doc if token.is_space] == [" ", "\n\n"]


def test_sentences_are_tagged_one_by_one(models: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("bilstm_tagger", config={"model": str(models / "ner")})
    doc = nlp("John Smith lives in Paris. Mary flew to New York with British Airways. Peter Blackburn")
    sentences = [[token.text for token in sentence if not token.is_space] for sentence in doc.sents]
    assert len(sentences) == 3
    expected = []
    offset = 0
    for sentence, result in zip(sentences, tag(models / "ner", sentences)):
        expected += [(s.label, offset + s.start, offset + s.end, s.score) for s in result.spans]
        offset += len(sentence)
    assert [(e.label_, e.start, e.end, e._.tagger_score) for e in doc.ents] == expected


def test_existing_entities_are_kept_unless_overwritten(models: Path) -> None:
    def run(**config: Any) -> List[Tuple[str, str]]:
        nlp = spacy.blank("en")
        ruler = nlp.add_pipe("entity_ruler")
        ruler.add_patterns([{"label": "GPE", "pattern": "Paris"}, {"label": "X", "pattern": [{"ORTH": "Smith"}, {"ORTH": "lives"}]}])
        nlp.add_pipe("bilstm_tagger", config={"model": str(models / "ner"), **config})
        return [(e.text, e.label_) for e in nlp("John Smith lives in Paris.").ents]

    assert [(s.text, s.label) for s in tag(models / "ner", [["John", "Smith", "lives", "in", "Paris", "."]])[0].spans] == [
        ("John Smith", "PER"),
        ("Paris", "LOC"),
    ]
    assert run() == [("Smith lives", "X"), ("Paris", "GPE")]  # John Smith overlaps an existing entity: dropped
    assert run(overwrite_ents=True) == [("John Smith", "PER"), ("Paris", "LOC")]


def test_pipe_batches_and_two_processes_match_serial(models: Path) -> None:
    nlp = pipeline(models / "ner", batch_size=2)
    serial = [ents(nlp(text)) for text in TEXTS]
    assert [ents(doc) for doc in nlp.pipe(TEXTS, batch_size=3)] == serial
    assert [ents(doc) for doc in nlp.pipe(TEXTS, batch_size=2, n_process=2)] == serial
    assert sum(map(len, serial)) >= 8


def test_spawned_workers_load_the_model_from_its_path(models: Path, tmp_path: Path) -> None:
    """``n_process`` under spawn (macOS, Windows) pickles the pipeline: the component must travel as its path."""
    script = tmp_path / "spawn.py"
    script.write_text(
        textwrap.dedent(
            """\
            import json, multiprocessing, sys
            import spacy

            if __name__ == "__main__":
                multiprocessing.set_start_method("spawn")
                nlp = spacy.blank("en")
                nlp.add_pipe("bilstm_tagger", config={"model": sys.argv[1]})
                docs = nlp.pipe(json.loads(sys.argv[2]), batch_size=2, n_process=2)
                print(json.dumps([[[e.text, e.label_, e.start, e.end, e._.tagger_score] for e in doc.ents] for doc in docs]))
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(script), str(models / "ner"), json.dumps(TEXTS)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    nlp = pipeline(models / "ner")
    assert json.loads(done.stdout) == [[list(e) for e in ents(nlp(text))] for text in TEXTS]


def test_pickle_holds_the_path_not_the_weights(models: Path) -> None:
    nlp = pipeline(models / "ner")
    blob = pickle.dumps(nlp.get_pipe("bilstm_tagger"))
    assert len(blob) < 1000 < (models / "ner" / "model.safetensors").stat().st_size
    assert pickle.loads(blob)._tagger is None
    restored = pickle.loads(pickle.dumps(nlp))
    assert [ents(doc) for doc in restored.pipe(TEXTS)] == [ents(nlp(text)) for text in TEXTS]


def test_entry_point_works_without_importing_tagger(models: Path) -> None:
    code = (
        "import json, sys, spacy\n"
        "nlp = spacy.blank('en')\n"
        "nlp.add_pipe('bilstm_tagger', config={'model': sys.argv[1]})\n"
        "print(json.dumps([[e.text, e.label_, e.start, e.end] for e in nlp(sys.argv[2]).ents]))\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    # Run outside the repository, so that tagger is found as installed (with its entry point), not as ./tagger.
    done = subprocess.run(
        [sys.executable, "-c", code, str(models / "ner"), TEXTS[1]], capture_output=True, text=True, env=env, timeout=120, cwd=models
    )
    assert done.returncode == 0, done.stderr
    nlp = spacy.blank("en")
    assert json.loads(done.stdout) == [list(e[:4]) for e in expected_ents(models / "ner", nlp(TEXTS[1]))]


def test_to_disk_and_spacy_load_after_the_model_is_gone(models: Path, tmp_path: Path) -> None:
    model = tmp_path / "ner-copy"
    shutil.copytree(models / "ner", model)
    nlp = pipeline(model)
    before = [ents(nlp(text)) for text in TEXTS]
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(model)
    assert (tmp_path / "pipeline" / "bilstm_tagger" / "model" / "model.safetensors").is_file()
    loaded = spacy.load(tmp_path / "pipeline")
    assert [ents(doc) for doc in loaded.pipe(TEXTS)] == before
    loaded.to_disk(tmp_path / "pipeline")  # saved over the directory it was read from
    loaded.to_disk(tmp_path / "again")
    assert [ents(doc) for doc in spacy.load(tmp_path / "again").pipe(TEXTS)] == before
    assert [ents(doc) for doc in spacy.load(tmp_path / "pipeline").pipe(TEXTS)] == before


def test_a_damaged_saved_model_is_refused(models: Path, tmp_path: Path) -> None:
    pipeline(models / "ner").to_disk(tmp_path / "pipeline")
    weights = tmp_path / "pipeline" / "bilstm_tagger" / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelFileError, match="model.safetensors"):
        spacy.load(tmp_path / "pipeline")


def test_upos_models_set_pos_and_others_set_tag(models: Path) -> None:
    text = "the cat  sat on the mat"
    doc = pipeline(models / "upos")(text)
    words = [token for token in doc if not token.is_space]
    [reference] = tag(models / "upos", [[token.text for token in words]])
    assert [token.pos_ for token in words] == list(reference.tags) and set(reference.tags) >= {"DET", "NOUN"}
    assert all(token.tag_ == "" for token in doc) and [token.pos_ for token in doc if token.is_space] == [""]
    assert doc.ents == ()

    doc = pipeline(models / "ptb")(text)
    words = [token for token in doc if not token.is_space]
    [reference] = tag(models / "ptb", [[token.text for token in words]])
    assert [token.tag_ for token in words] == list(reference.tags) and set(reference.tags) >= {"DT", "NN"}
    assert all(token.pos_ == "" for token in doc)


def test_bad_models_and_options_fail_clearly(models: Path, tmp_path: Path) -> None:
    nlp = pipeline(tmp_path / "missing")  # spacy.load makes components before from_disk gives their model
    with pytest.raises(ModelFileError, match="missing: no such model directory"):
        nlp("John lives in Paris.")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelFileError, match="bad: not a tagger model"):
        pipeline(tmp_path / "bad")
    with pytest.raises(ConfigError, match="batch_size"):
        pipeline(models / "ner", batch_size=0)
    with pytest.raises(Exception, match="model"):  # spaCy's own config error: the model is required
        spacy.blank("en").add_pipe("bilstm_tagger")
