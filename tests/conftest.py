"""Shared fixtures: where the real corpora live (skipping with a reason when absent) and seeds."""

from __future__ import annotations

import os
import random
from pathlib import Path

# Tiny test models run fastest on one thread, and several OpenMP threads on a busy 2-core machine
# spin against each other (100x slowdowns were measured); set before torch is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The real corpora: $TAGGER_DATA, else ../shared/data beside the checkout, else None."""
    candidates = [os.environ.get("TAGGER_DATA"), REPO.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "conll2003").is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def shared_data() -> Path:
    """Path to ../shared/data; skips the test, naming the reason, when the corpora are absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("real corpora not found: set TAGGER_DATA or put ../shared/data beside the checkout")
    return path


@pytest.fixture(autouse=True)
def _seeded() -> None:
    random.seed(0)
