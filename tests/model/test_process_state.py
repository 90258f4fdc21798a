"""A library ``tagger.train`` leaves the process as it found it: plotting backend, global RNGs, allocator."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Tuple

import matplotlib
import numpy as np
import pytest
import torch

import tagger
from tests.model.toy import TINY, toy_dataset

REPO = Path(__file__).resolve().parents[2]
OPTIONS = {**TINY, "max_epochs": 2, "device": "cpu", "log": lambda _: None, "dropout": 0.3, "word_dropout": 0.1}


def test_training_keeps_the_callers_plotting_backend(tmp_path: Path) -> None:
    with matplotlib.rc_context({"backend": "svg"}):
        tagger.train(toy_dataset(), "ner_tags", tmp_path / "m", **OPTIONS)
        assert matplotlib.get_backend() == "svg"
    assert (tmp_path / "m" / "training.png").read_bytes().startswith(b"\x89PNG")


def _next_draws() -> Tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def _draws_after(call: Callable[[], Any]) -> Tuple[float, float, float]:
    """The caller's next draws from the three global RNGs after ``call()`` (returning or raising)."""
    try:
        call()
    except RuntimeError:
        pass
    return _next_draws()


def _seed_the_caller(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _expected_draws(seed: int) -> Tuple[float, float, float]:
    """The next draws of a caller in the state ``_seed_the_caller(seed)`` gives, which it is put back in."""
    _seed_the_caller(seed)
    draws = _next_draws()
    _seed_the_caller(seed)
    return draws


def test_training_leaves_the_callers_global_random_states(tmp_path: Path) -> None:
    expected = _expected_draws(1234)
    assert _draws_after(lambda: tagger.train(toy_dataset(), "ner_tags", tmp_path / "m", seed=7, **OPTIONS)) == expected


def test_a_failed_training_leaves_the_callers_global_random_states(tmp_path: Path) -> None:
    def fail(record: dict) -> None:
        raise RuntimeError("a callback fails after the first epoch")

    expected = _expected_draws(99)
    assert _draws_after(lambda: tagger.train(toy_dataset(), "ner_tags", tmp_path / "m", callbacks=[fail], **OPTIONS)) == expected


CHECK_ALLOCATOR = """
import tagger, tagger.allocator
from tests.model.toy import TINY, toy_dataset
tagger.train(toy_dataset(), "ner_tags", {out!r}, max_epochs=1, device="cpu", log=lambda _: None, **TINY)
print(tagger.allocator._tuned)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is a glibc (Linux) function")
def test_library_training_leaves_the_allocator_alone(tmp_path: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    environment.pop("TAGGER_MALLOPT", None)
    code = CHECK_ALLOCATOR.format(out=str(tmp_path / "m"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment, cwd=REPO)
    assert result.stdout.split()[-1] == "False"
