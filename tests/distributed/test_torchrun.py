"""Training one model with torchrun on 2 gloo processes (this machine's CPUs).

Each test starts ``torch.distributed.run`` in a subprocess, bounded by a timeout, so a hang fails
the test instead of blocking the suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
from safetensors.torch import load_file

from tests.cli.conftest import TINY, conll_text, subprocess_env
from tests.model.toy import SENTENCES

WORKER = Path(__file__).with_name("worker.py")
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
TIMEOUT_S = 240


def torchrun(*args: str) -> List[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]


def env(tmp_path: Path) -> dict:
    return {**subprocess_env(tmp_path), "OMP_NUM_THREADS": "1", "TAGGER_DIST_TIMEOUT_S": "60"}


def test_two_processes_train_one_model_with_identical_weights(tmp_path: Path) -> None:
    done = subprocess.run(torchrun(str(WORKER), str(tmp_path)), env=env(tmp_path), capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    weights = [load_file(str(tmp_path / f"rank{rank}.safetensors")) for rank in (0, 1)]
    assert weights[0].keys() == weights[1].keys()
    assert all(bool((weights[0][k] == weights[1][k]).all()) for k in weights[0]), "the ranks' weights differ"
    metas = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert metas[0]["scores"]["validation"] == metas[1]["scores"]["validation"]  # every rank scored the same dev set alike
    assert metas[0]["distributed"] == {"world_size": 2, "backend": "gloo"}
    written = json.loads((tmp_path / "model" / "meta.json").read_text())
    assert written["distributed"] == {"world_size": 2, "backend": "gloo"}
    assert not list(tmp_path.glob("model.checkpoint*")) and not list(tmp_path.glob(".tagger-rank-*"))
    import tagger

    assert tagger.load(tmp_path / "model").predict([["John", "Smith"]])  # rank 0 wrote a model that loads


def test_a_rank_that_dies_stops_the_run_without_a_hang(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        torchrun(str(WORKER), str(tmp_path), "--die-at-step", "3"), env=env(tmp_path), capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert done.returncode != 0
    assert time.monotonic() - started < TIMEOUT_S
    assert "exitcode" in done.stderr and ": 3" in done.stderr, done.stderr[-3000:]  # torchrun names the rank and its exit code
    assert not (tmp_path / "model").exists()  # no half model


def test_torchrun_cli_run_resumes_after_a_kill(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text(conll_text(SENTENCES * 20), encoding="utf-8")
    (tmp_path / "dev.txt").write_text(conll_text(SENTENCES), encoding="utf-8")
    out = tmp_path / "model"
    args = ["-m", "tagger.cli", "train", "--train", str(tmp_path / "train.txt"), "--dev", str(tmp_path / "dev.txt"), "--out", str(out)]
    args += [*TINY, "--max-epochs", "40", "--patience", "40", "--cache-dir", str(tmp_path / "cache")]
    pipes = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = subprocess.Popen(torchrun(*args), env=env(tmp_path), start_new_session=True, **pipes)
    checkpoint = tmp_path / "model.checkpoint"
    deadline = time.monotonic() + TIMEOUT_S
    while not (checkpoint / "checkpoint.safetensors").is_file() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.poll() is None, first.communicate()[1][-3000:]
    os.killpg(first.pid, signal.SIGTERM)  # as a scheduler stops a job: every process of the group
    _, stderr = first.communicate(timeout=TIMEOUT_S)
    assert first.returncode != 0 and not out.exists()
    assert (checkpoint / "checkpoint.safetensors").is_file(), stderr[-3000:]
    again = subprocess.run(torchrun(*args, "--resume"), env=env(tmp_path), capture_output=True, text=True, timeout=TIMEOUT_S)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming from" in again.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["distributed"] == {"world_size": 2, "backend": "gloo"} and meta["epochs"] == 40
    assert not checkpoint.exists()
    single = subprocess.run(
        [sys.executable, *args, "--resume"], env={**env(tmp_path), "WORLD_SIZE": "1"}, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert single.returncode == 2  # nothing to resume any more: one line, no traceback
    assert "Traceback" not in single.stderr


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "conll2003").is_dir(), reason=f"needs the CoNLL-2003 corpus in {DATA}")
def test_two_processes_score_within_a_point_of_one_with_the_same_total_batch(tmp_path: Path) -> None:
    """2 ranks x 16 sentences per step against 1 process x 32, on 2,000 CoNLL-2003 sentences for 5 epochs."""
    common = ["--conll2003", str(DATA), "--sentences", "2000", "--epochs", "5"]
    two = subprocess.run(
        torchrun(str(WORKER), str(tmp_path / "two"), "--batch-size", "16", *common), env=env(tmp_path), capture_output=True, text=True
    )
    assert two.returncode == 0, two.stderr[-3000:]
    single = [sys.executable, str(WORKER), str(tmp_path / "one"), "--batch-size", "32", *common]
    one = subprocess.run(single, env=env(tmp_path), capture_output=True, text=True)
    assert one.returncode == 0, one.stderr[-3000:]
    f1 = {n: json.loads((tmp_path / n / "rank0.json").read_text())["scores"]["validation"]["f1"] for n in ("one", "two")}
    print(f"dev F1: one process {f1['one']:.4f}, two processes {f1['two']:.4f}")
    assert abs(f1["one"] - f1["two"]) < 0.01
