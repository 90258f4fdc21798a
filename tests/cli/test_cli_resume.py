"""``tagger train --resume``: real training processes killed mid-epoch (SIGINT, SIGTERM, SIGKILL),
resumed, and compared weight by weight with a run that was never interrupted.

Only the killed runs are subprocesses; the reference run and the resumed ones go through the same
command in this process (CliRunner), which saves a second of imports each.
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import pytest
from click.testing import Result

from tagger.checkpoint import CHECKPOINT_FILE, checkpoint_dir
from tests.cli.conftest import TINY, Data, conll_text, invoke, subprocess_env, tagger_command

SENTENCES = 1200  # over a second an epoch on one thread: time to land a signal inside epoch 2
BATCH = 16
OPTIONS = [*TINY, "--batch-size", str(BATCH), "--dropout", "0.3", "--word-dropout", "0.1", "--max-epochs", "3"]


def synthetic_corpus(n: int, seed: int = 0) -> List[tuple]:
    """``n`` sentences of made-up words, each with a PER, LOC or ORG entity somewhere."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(400)]
    names = {"PER": ["John", "Mary", "Peter", "Smith"], "LOC": ["Paris", "Rome", "Berlin"], "ORG": ["Acme", "Google", "EU"]}
    sentences = []
    for _ in range(n):
        length = rng.randint(4, 16)
        tokens, tags = [rng.choice(words) for _ in range(length)], ["O"] * length
        kind = rng.choice(sorted(names))
        at = rng.randrange(length - 1)
        tokens[at], tags[at] = rng.choice(names[kind]), f"B-{kind}"
        if rng.random() < 0.5:
            tokens[at + 1], tags[at + 1] = rng.choice(names[kind]), f"I-{kind}"
        sentences.append((" ".join(tokens), " ".join(tags)))
    return sentences


@dataclass
class Setup:
    train: Path
    root: Path
    reference: Path


def command(setup: Setup, out: Path, *extra: str) -> List[str]:
    data = ["--train", str(setup.train), "--cache-dir", str(setup.root / "hf")]
    return [*tagger_command(), "train", *data, "--out", str(out), *OPTIONS, *extra]


def run(setup: Setup, out: Path, *extra: str) -> Result:
    """``tagger train`` in this process, leaving torch's thread count as it was."""
    import torch

    threads = torch.get_num_threads()
    try:
        return invoke(command(setup, out, *extra)[len(tagger_command()) :])
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    root = tmp_path_factory.mktemp("resume")
    train = root / "train.conll"
    train.write_text(conll_text(synthetic_corpus(SENTENCES)), encoding="utf-8")
    setup = Setup(train, root, root / "reference")
    done = run(setup, setup.reference)
    assert done.exit_code == 0, done.output
    return setup


def weights(model_dir: Path) -> Dict[str, "torch.Tensor"]:  # noqa: F821
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def checkpoint_state(out: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(checkpoint_dir(out) / CHECKPOINT_FILE), "pt") as f:
        return json.loads(f.metadata()["tagger_checkpoint"])


def kill_in_epoch_2(setup: Setup, out: Path, signum: int) -> subprocess.CompletedProcess:
    """Starts a training, sends ``signum`` about a third into its second epoch and waits for it to end."""
    process = subprocess.Popen(command(setup, out), env=subprocess_env(setup.root), stderr=subprocess.PIPE, text=True)
    lines: List[str] = []
    tokens = sum(len(text.split()) for text, _ in synthetic_corpus(SENTENCES))
    try:
        for line in process.stderr:
            lines.append(line)
            if line.startswith("epoch   1"):  # "epoch   1  loss 0.4901  lr 0.03  9,155 tok/s ..."
                tokens_per_s = float(re.search(r"([\d,]+) tok/s", line).group(1).replace(",", ""))
                time.sleep(0.3 * tokens / tokens_per_s)
                process.send_signal(signum)
                break
        rest = process.communicate(timeout=120)[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, "", "".join(lines) + rest)


def assert_same_weights(a: Dict, b: Dict) -> None:
    import torch

    assert a.keys() == b.keys()
    assert [name for name in a if not torch.equal(a[name], b[name])] == []


@pytest.mark.parametrize(
    "signum, status, said",
    [
        (signal.SIGINT, {130}, ("interrupted",)),
        (signal.SIGTERM, {130, 143}, ("interrupted", "terminated")),  # 143 and "terminated" as SIGTERM gets its own status
    ],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_run_signalled_mid_epoch_resumes_to_the_same_weights(setup: Setup, tmp_path: Path, signum: int, status: set, said: tuple) -> None:
    out = tmp_path / "model"
    killed = kill_in_epoch_2(setup, out, signum)
    assert killed.returncode in status, killed.stderr
    assert any(f"tagger: {word}" in killed.stderr for word in said) and "Traceback" not in killed.stderr
    assert f"checkpoint written to {checkpoint_dir(out)}" in killed.stderr and "--resume" in killed.stderr
    assert not out.exists()
    state = checkpoint_state(out)
    steps = -(-SENTENCES // BATCH)
    assert state["epoch"] in (2, 3) and 0 < state["step"] < steps, (state["epoch"], state["step"])  # inside an epoch
    resumed = run(setup, out, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming from {checkpoint_dir(out)}: epoch {state['epoch']}, step {state['step']} of {steps}" in resumed.stderr
    assert_same_weights(weights(out), weights(setup.reference))
    assert not checkpoint_dir(out).exists()


def test_a_killed_run_resumes_from_its_last_epoch(setup: Setup, tmp_path: Path) -> None:
    out = tmp_path / "model"
    killed = kill_in_epoch_2(setup, out, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    state = checkpoint_state(out)
    assert (state["epoch"], state["step"]) == (2, 0)  # written at the end of epoch 1
    resumed = run(setup, out, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert_same_weights(weights(out), weights(setup.reference))
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    reference = [json.loads(line) for line in (setup.reference / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["epoch"], r["loss"]) for r in metrics] == [(r["epoch"], r["loss"]) for r in reference]


def test_resume_without_a_checkpoint_is_an_error_naming_it(data: Data, tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = invoke(["train", "--train", data.train, "--out", out, "--cache-dir", data.cache, *TINY, "--max-epochs", "1", "--resume"])
    assert result.exit_code == 2
    assert f"tagger: error: {checkpoint_dir(out)}: no checkpoint to resume from" in result.stderr
    assert "Traceback" not in result.output and not out.exists()


def test_a_learning_rate_that_overflows_is_an_error_and_saves_no_model(data: Data, tmp_path: Path) -> None:
    out = tmp_path / "model"
    overflowing = ["--optimizer", "sgd", "--lr", "1e38", "--clip", "0"]
    result = invoke(["train", "--train", data.train, "--out", out, "--cache-dir", data.cache, *TINY, *overflowing])
    assert result.exit_code == 2, result.output
    assert "tagger: error:" in result.stderr and "not finite" in result.stderr
    assert not out.exists()
