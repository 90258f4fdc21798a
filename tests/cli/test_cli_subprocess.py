"""The CLI as a real process: the ``tagger`` script in the venv (else ``python -m cli``), pipes and exit statuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List, Optional

from tagger import __version__
from tests.cli.conftest import TINY, Data, Trained, subprocess_env, tagger_command


def run(args: List[str], tmp: Path, input: Optional[str] = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*tagger_command(), *[str(a) for a in args]],
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=subprocess_env(tmp),
        timeout=timeout,
        check=False,
    )


def test_help_and_version_import_nothing_heavy(tmp_path: Path) -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, cli.main; print(sorted(m for m in ('torch', 'gensim', 'datasets', 'numpy', 'syntok') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(tmp_path),
        check=True,
    )
    assert probe.stdout.strip() == "[]"
    version = run(["--version"], tmp_path)
    assert (version.returncode, version.stdout) == (0, f"tagger {__version__}\n")
    for args in (["--help"], ["train", "--help"], ["embeddings", "train", "--help"]):
        shown = run(args, tmp_path)
        assert shown.returncode == 0 and "Examples:" in shown.stdout


def test_train_in_a_subprocess(data: Data, tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = run(["train", "--train", data.train, "--dev", data.dev, "--out", out, "--max-epochs", "2", *TINY], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "micro avg" in result.stdout and result.stdout.strip().endswith(f"model written to {out}")
    assert "epoch   2" in result.stderr and (out / "model.safetensors").is_file()


def test_tag_stdin_to_stdout(ner_model: Trained, tmp_path: Path) -> None:
    result = run(["tag", "--model", ner_model.path, "--output", "inline"], tmp_path, input="John Smith lives in Paris.\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[PER John Smith] lives in [LOC Paris] .\n"
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_user_error_is_one_line_and_debug_shows_the_traceback(tmp_path: Path, ner_model: Trained) -> None:
    missing = tmp_path / "missing.txt"
    result = run(["tag", missing, "--model", ner_model.path], tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"tagger: error: {missing}: no such file\n")
    debug = run(["--debug", "tag", missing, "--model", ner_model.path], tmp_path)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and f"CorpusFormatError: {missing}: no such file" in debug.stderr


def test_a_closed_pipe_ends_quietly(ner_model: Trained, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("John Smith lives in Paris.\n" * 6000, encoding="utf-8")
    process = subprocess.Popen(
        [*tagger_command(), "tag", str(big), "--model", str(ner_model.path), "--output", "inline"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(tmp_path),
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    stderr = process.stderr.read().decode("utf-8")
    process.stderr.close()
    assert process.wait(timeout=120) == 141
    assert first == b"[PER John Smith] lives in [LOC Paris] .\n"
    assert stderr == ""
