"""Fixtures for the CLI tests: toy corpora, a tiny word2vec file, and two tiny models trained once per session.

The models are trained through the real ``tagger train`` command (CliRunner), so test_cli_train.py
checks those runs and the other tests reuse the models.
"""

from __future__ import annotations

import os
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pytest
from click.testing import CliRunner, Result

from tagger.cli.main import cli
from tests.model.toy import SENTENCES

REPO = Path(__file__).resolve().parents[2]

NER_SENTENCES = SENTENCES  # the toy corpus the model tests use

# A model that fits its training data predicts these; test_cli_tag asserts it.
RAW_TEXT = "John Smith lives in Paris.\r\nRain fell on 1996-08-22 in London and Rome.\n\nPeter Blackburn\n"

CONLLU = textwrap.dedent(
    """\
    # sent_id = 1
    # text = the cat sat on the mat
    1\tthe\tthe\tDET\tDT\t_\t2\tdet\t_\t_
    2\tcat\tcat\tNOUN\tNN\t_\t3\tnsubj\t_\t_
    3\tsat\tsit\tVERB\tVBD\t_\t0\troot\t_\t_
    4\ton\ton\tADP\tIN\t_\t6\tcase\t_\t_
    5\tthe\tthe\tDET\tDT\t_\t6\tdet\t_\t_
    6\tmat\tmat\tNOUN\tNN\t_\t3\tobl\t_\t_

    # sent_id = 2
    1\ta\ta\tDET\tDT\t_\t2\tdet\t_\t_
    2\tdog\tdog\tNOUN\tNN\t_\t3\tnsubj\t_\t_
    3\tran\trun\tVERB\tVBD\t_\t0\troot\t_\t_

    # sent_id = 3
    1\tdogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_
    2\trun\trun\tVERB\tVBP\t_\t0\troot\t_\t_
    3\tfast\tfast\tADV\tRB\t_\t2\tadvmod\t_\t_

    """
)

TINY = [
    "--hidden-size",
    "16",
    "--char-dim",
    "8",
    "--char-hidden",
    "8",
    "--dropout",
    "0",
    "--word-dropout",
    "0",
    "--optimizer",
    "adam",
    "--lr",
    "0.03",
    "--batch-size",
    "2",
    "--num-threads",
    "1",
    "--seed",
    "1",
]


def conll_text(sentences: List[tuple], columns: str = "full") -> str:
    """Sentences as a CoNLL-2003-like file: ``WORD POS CHUNK NER`` (dummy POS/chunk), or ``WORD NER``."""
    lines = ["-DOCSTART- -X- O O", ""] if columns == "full" else []
    for text, tags in sentences:
        for word, tag in zip(text.split(), tags.split()):
            lines.append(f"{word} NNP O {tag}" if columns == "full" else f"{word} {tag}")
        lines.append("")
    return "\n".join(lines) + "\n"


def invoke(args: List[str], input: Optional[str] = None, env: Optional[Dict[str, str]] = None) -> Result:
    """Run ``tagger ARGS`` in-process; stdout and stderr are kept apart (``result.stdout``/``.stderr``)."""
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, env=env, catch_exceptions=True)


def tagger_command() -> List[str]:
    """The installed ``tagger`` script beside this Python (CI's venv), else ``python -m cli``."""
    script = Path(sys.executable).parent / "tagger"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "tagger.cli"]


def subprocess_env(tmp: Path) -> Dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": f"{REPO}{os.pathsep}{path}" if path else str(REPO),
        "HF_DATASETS_CACHE": str(tmp / "hf-cache"),
        "HF_DATASETS_OFFLINE": "1",
        "TAGGER_DEBUG": "",
    }


@dataclass
class Data:
    """The toy files every CLI test may read (never written to)."""

    root: Path
    train: Path
    dev: Path
    dev_iob1: Path
    raw: Path
    tokens: Path
    conllu: Path
    vectors: Path
    cache: Path


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    root = tmp_path_factory.mktemp("cli-data")
    train = root / "train.conll"
    train.write_text(conll_text(NER_SENTENCES), encoding="utf-8")
    dev = root / "dev.conll"
    dev.write_text(conll_text(NER_SENTENCES[:4], columns="two"), encoding="utf-8")
    # The same sentences in IOB1 (an entity starts with I- unless it follows one of its type), like eng.testa.
    iob1 = [(text, " ".join("I" + t[1:] if t.startswith("B-") else t for t in tags.split())) for text, tags in NER_SENTENCES[:4]]
    dev_iob1 = root / "dev.iob1"
    dev_iob1.write_text(conll_text(iob1, columns="two"), encoding="utf-8")
    raw = root / "raw.txt"
    raw.write_bytes(RAW_TEXT.encode("utf-8"))
    tokens = root / "tokens.txt"
    tokens.write_text("John  Smith lives in Paris .\n\nMary flew to New York with British Airways .\n", encoding="utf-8")
    conllu = root / "pos.conllu"
    conllu.write_text(CONLLU, encoding="utf-8")
    vectors = root / "vectors.bin"
    _write_vectors(vectors, sorted({w for text, _ in NER_SENTENCES for w in text.split()}))
    return Data(root, train, dev, dev_iob1, raw, tokens, conllu, vectors, root / "hf-cache")


def _write_vectors(path: Path, words: List[str]) -> None:
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(0)
    kv = KeyedVectors(vector_size=8)
    kv.add_vectors(words, rng.standard_normal((len(words), 8)).astype(np.float32))
    kv.save_word2vec_format(str(path), binary=True)


@dataclass
class Trained:
    """A model trained by the CLI, and the run that trained it."""

    path: Path
    result: Result


def _train(args: List[str]) -> Result:
    import torch

    threads = torch.get_num_threads()
    try:
        return invoke(["train", *args])
    finally:
        torch.set_num_threads(threads)  # --num-threads 1 must not slow down the rest of the session


@pytest.fixture(scope="session")
def ner_model(data: Data, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """A BiLSTM-CRF trained on the toy NER file with the toy word2vec vectors (dev and test: dev.conll)."""
    out = tmp_path_factory.mktemp("models") / "ner"
    result = _train(
        [
            "--train",
            data.train,
            "--dev",
            data.dev,
            "--test",
            data.dev,
            "--out",
            out,
            "--cache-dir",
            data.cache,
            "--embeddings",
            data.vectors,
            "--max-epochs",
            "12",
            "--patience",
            "4",
            *TINY,
        ]
    )
    return Trained(out, result)


@pytest.fixture(scope="session")
def pos_model(data: Data, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """A GRU-softmax UPOS tagger on the toy CoNLL-U file, options from a YAML --config that flags override."""
    root = tmp_path_factory.mktemp("models")
    config = root / "pos.yaml"
    config.write_text("cell: gru\ncrf: false\nmax-epochs: 2\nhidden_size: 12\nchar-encoder: lstm\n", encoding="utf-8")
    result = _train(
        [
            "--train",
            data.conllu,
            "--dev",
            data.conllu,
            "--out",
            root / "pos",
            "--cache-dir",
            data.cache,
            "--config",
            config,
            "--max-epochs",
            "12",
            *TINY,
        ]
    )
    return Trained(root / "pos", result)
