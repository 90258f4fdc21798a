"""NumpyTagger against the torch SequenceTagger/Tagger: same emissions (float32 rounding), same tags, no torch."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import List

import numpy as np
import pytest
import torch

from tagger.batching import FormTable, encode_sentence, make_batch
from tagger.config import TaggerConfig
from tagger.crf import CRF
from tagger.crf import FORBIDDEN_SCORE as TORCH_FORBIDDEN_SCORE
from tagger.errors import ModelFileError
from tagger.inference import Tagger
from tagger.model import SequenceTagger
from tagger.numpy_tagger import FORBIDDEN_SCORE, NumpyTagger, expected_shapes, viterbi
from tagger.schemes import allowed_transitions, convert_tags
from tagger.vocab import PAD, UNK, Vocab, WordVocab
from tests.model.toy import NER_LABELS, SENTENCES

REPO = Path(__file__).resolve().parents[2]
IOBES = ["O"] + [f"{prefix}-{kind}" for kind in ("PER", "ORG", "LOC", "MISC") for prefix in "BIES"]
TOKENS = [text.split() for text, _ in SENTENCES] + [
    ["Unseen", "ZYX", "words", "in", "Qwerty", "1999", "!"],
    ["x" * 80, "http://example.com/" + "a" * 70, "😀", "Ünïcödé"],  # clipped long forms, astral and unknown characters
    [],
    ["a"],
    ["A", "b", "C", "d", "E", "f", "G", "h", "I", "j", "K", "l", "M", "n", "O", "p", "Q"],
]


def random_tagger(path: Path, seed: int = 0, **options) -> Path:
    """A SequenceTagger with every parameter random (biases, padding rows and CRF scores too), saved
    through Tagger.save as training would save it.
    """
    words = [PAD, UNK] + sorted({t.lower() for tokens in TOKENS[:6] for t in tokens})
    chars = [PAD, UNK] + sorted({c for tokens in TOKENS[:6] for t in tokens for c in t})
    sizes = dict(hidden_size=12, word_dim=10, char_dim=6, char_hidden=8, case_dim=4, dropout=0.0)
    config = TaggerConfig(
        num_words=len(words),
        num_chars=len(chars),
        num_tags=len(IOBES),
        training_scheme="IOBES",
        output_scheme="IOB2",
        **{**sizes, **options},
    )
    torch.manual_seed(seed)
    model = SequenceTagger(config, allowed_transitions(IOBES, "IOBES") if config.crf else None)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.5)
    Tagger(model, WordVocab(words, lowercase=config.lowercase_words), Vocab(chars), Vocab(IOBES, reserved=False), NER_LABELS).save(path)
    return path


def torch_emissions(tagger: Tagger, sentences: List[List[str]]) -> List[np.ndarray]:
    """SequenceTagger.emissions of each non-empty sentence, batched together (padding included)."""
    forms = FormTable(tagger.char_vocab)
    encoded = [encode_sentence(tokens, tagger.word_vocab, forms) for tokens in sentences if tokens]
    with torch.inference_mode():
        scores = tagger.model.eval().emissions(make_batch(encoded, forms)).numpy()
    return [scores[i, : len(sentence)] for i, sentence in enumerate(encoded)]


def assert_engines_agree(path: Path) -> None:
    reference, engine = Tagger.load(path, device="cpu"), NumpyTagger.load(path)
    expected = torch_emissions(reference, TOKENS)
    got = [scores for scores in engine.emissions(TOKENS, batch_size=3) if len(scores)]
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    tags = reference.predict(TOKENS)
    assert tags[5] and any(tag != "O" for sentence in tags for tag in sentence), "a random model that tags nothing tests little"
    for batch_size in (1, 3, 256):
        assert engine.predict(TOKENS, batch_size=batch_size) == tags
    assert engine.labels == reference.labels and engine.scheme == reference.scheme == "IOB2"


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_encoders_match_torch(tmp_path: Path, cell: str, bidirectional: bool, layers: int) -> None:
    assert_engines_agree(random_tagger(tmp_path / "model", cell=cell, bidirectional=bidirectional, layers=layers))


@pytest.mark.parametrize("crf", [True, False])
@pytest.mark.parametrize("case_dim", [0, 4])
@pytest.mark.parametrize("char_encoder", ["cnn", "lstm", "none"])
def test_features_and_outputs_match_torch(tmp_path: Path, char_encoder: str, case_dim: int, crf: bool) -> None:
    path = random_tagger(tmp_path / "model", seed=1, char_encoder=char_encoder, case_dim=case_dim, crf=crf, cell="gru")
    assert_engines_agree(path)


@pytest.mark.parametrize("kernel", [1, 2, 5])
def test_char_cnn_kernels_match_torch(tmp_path: Path, kernel: int) -> None:
    assert_engines_agree(random_tagger(tmp_path / "model", seed=2, char_kernel=kernel, lowercase_words=False))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"cell": "gru", "layers": 2, "char_encoder": "lstm"},
        {"bidirectional": False, "char_encoder": "none", "case_dim": 0, "crf": False},
    ],
)
def test_expected_shapes_are_sequence_taggers_state_dict(options: dict) -> None:
    config = TaggerConfig(num_words=9, num_chars=7, num_tags=5, hidden_size=6, char_hidden=4, char_dim=3, word_dim=5, **options)
    state = SequenceTagger(config).state_dict()
    assert expected_shapes(config) == {name: tuple(tensor.shape) for name, tensor in state.items()}


def test_forbidden_score_is_the_crfs() -> None:
    assert FORBIDDEN_SCORE == TORCH_FORBIDDEN_SCORE


def test_viterbi_matches_the_crf_with_constraints_and_ragged_lengths() -> None:
    crf = CRF(len(IOBES), allowed_transitions(IOBES, "IOBES"))
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    lengths = torch.tensor([9, 9, 6, 4, 1, 1])  # longest first, as NumpyTagger's batches are
    emissions = torch.randn(len(lengths), 9, len(IOBES), generator=generator) * 3
    mask = torch.arange(9)[None, :] < lengths[:, None]
    expected, _ = crf.viterbi_tensor(emissions, mask)
    scores = [
        np.where(crf.allowed_start.numpy(), crf.start_transitions.detach().numpy(), FORBIDDEN_SCORE),
        np.where(crf.allowed_transitions.numpy(), crf.transitions.detach().numpy(), FORBIDDEN_SCORE),
        np.where(crf.allowed_end.numpy(), crf.end_transitions.detach().numpy(), FORBIDDEN_SCORE),
    ]
    got = viterbi(emissions.numpy().transpose(1, 0, 2).copy(), lengths.numpy(), *[s.astype(np.float32) for s in scores])
    assert (got * mask.numpy() == expected.numpy()).all()
    for row, n in zip(got, lengths.tolist()):  # valid IOBES paths: the constraints held
        convert_tags([IOBES[i] for i in row[:n]], "IOBES", "IOB2")
        assert IOBES[row[0]][0] in "OBS" and IOBES[row[n - 1]][0] in "OES"


def test_weights_that_do_not_match_the_config_are_refused(tmp_path: Path) -> None:
    path = random_tagger(tmp_path / "model")
    config = (path / "config.json").read_text()
    (path / "config.json").write_text(config.replace('"hidden_size": 12', '"hidden_size": 13'))
    with pytest.raises(ModelFileError, match="weight .* has shape"):
        NumpyTagger.load(path)
    with pytest.raises(ModelFileError, match="no such model directory"):
        NumpyTagger.load(tmp_path / "missing")


def test_loading_and_tagging_never_import_torch(tmp_path: Path) -> None:
    path = random_tagger(tmp_path / "model")
    code = (
        "import sys; import tagger; NumpyTagger = tagger.NumpyTagger; "
        f"t = NumpyTagger.load({str(path)!r}); print(t.predict([['John', 'Smith', 'lives', 'in', 'Paris', '.']])); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith("[['")


def conll2003_sentences(path: Path, limit: int = 0) -> tuple:
    from tagger import corpora

    sentences = list(corpora.read_sentences(path))[: limit or None]
    return [s.tokens for s in sentences], [convert_tags(s.columns[-1], "IOB1", "IOB2") for s in sentences]


def test_real_conll2003_dev_tags_agree(shared_data: Path, tmp_path: Path) -> None:
    """A model trained briefly on 2,000 CoNLL-2003 sentences tags the whole dev split the same way with both engines."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

    import tagger

    tokens, tags = conll2003_sentences(shared_data / "conll2003" / "train.txt", limit=2000)
    features = Features({"tokens": Sequence(Value("string")), "ner_tags": Sequence(ClassLabel(names=NER_LABELS))})
    rows = {"tokens": tokens, "ner_tags": [[NER_LABELS.index(tag) for tag in sentence] for sentence in tags]}
    corpus = DatasetDict({"train": Dataset.from_dict(rows, features=features)})
    path = tmp_path / "model"
    options = dict(hidden_size=48, word_dim=32, char_hidden=24, char_dim=16, batch_size=32, progress=False)
    tagger.train(corpus, "ner_tags", path, max_epochs=1, log=lambda _: None, **options)
    dev, _ = conll2003_sentences(shared_data / "conll2003" / "dev.txt")
    start = time.perf_counter()
    ours = NumpyTagger.load(path).predict(dev)
    numpy_seconds = time.perf_counter() - start
    theirs = Tagger.load(path, device="cpu").predict(dev)
    total = sum(len(sentence) for sentence in dev)
    same = sum(a == b for x, y in zip(ours, theirs) for a, b in zip(x, y))
    assert total == 51_362 and [len(s) for s in ours] == [len(s) for s in dev]
    assert sum(tag != "O" for sentence in theirs for tag in sentence) > 1000, "the model should have learnt something"
    print(f"engines agree on {same}/{total} tags ({same / total:.5%}); numpy tagged {total / numpy_seconds:,.0f} tokens/s")
    assert same / total >= 0.999
