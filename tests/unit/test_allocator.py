"""The glibc allocator setting: applied once on Linux/glibc, skipped when TAGGER_MALLOPT=0."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECK = "from tagger.allocator import keep_freed_memory; print(keep_freed_memory(), keep_freed_memory())"


def _run(**env: str) -> list:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, env=environment).stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is a glibc (Linux) function")
def test_applied_once_on_glibc():
    assert _run() == ["True", "True"]


def test_opt_out():
    assert _run(TAGGER_MALLOPT="0") == ["False", "False"]
