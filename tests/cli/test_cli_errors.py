"""Errors a user can cause: one line ``tagger: error: ...`` naming the file (and line), exit 2, no traceback.

Also: --debug / TAGGER_DEBUG show the traceback, bugs exit 1 with one line, Ctrl-C exits 130.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from tagger.errors import ConfigError, ModelFileError, TaggerError
from tests.cli.conftest import Data, Trained, invoke


def assert_user_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("tagger: error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert "Traceback" not in result.output and result.stdout == ""


@pytest.fixture
def files(tmp_path: Path, data: Data) -> Dict[str, Path]:
    ragged = tmp_path / "ragged.conll"
    ragged.write_text("John B-PER\nSmith I-PER\n\nParis B-LOC extra\n", encoding="utf-8")
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    (not_a_model / "notes.txt").write_text("hello", encoding="utf-8")
    foreign = tmp_path / "foreign.conll"
    foreign.write_text("Acme B-COMPANY\nrose O\n", encoding="utf-8")
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01 not vectors \xff" * 20)
    return {
        "ragged": ragged,
        "not_a_model": not_a_model,
        "foreign": foreign,
        "garbage": garbage,
        "missing": tmp_path / "missing.txt",
        "dir": tmp_path,
        "train": data.train,
        "dev": data.dev,
        "cache": data.cache,
    }


# Each case: (command line with {placeholders}, fragments the message must contain).
CASES = {
    "tag: missing input file": (["tag", "{missing}", "--model", "{model}"], ["{missing}: no such file"]),
    "tag: input is a directory": (["tag", "{dir}", "--model", "{model}"], ["{dir}: is a directory"]),
    "tag: no model directory": (["tag", "{train}", "--model", "{missing}"], ["{missing}: no such model directory"]),
    "tag: not a model": (["tag", "{train}", "--model", "{not_a_model}"], ["{not_a_model}: not a tagger model: missing config.json"]),
    "tag: bad conll input": (["tag", "{ragged}", "--input", "conll", "--model", "{model}"], ["{ragged}:4:"]),
    "train: missing file": (["train", "--train", "{missing}", "--dev", "{dev}", "--out", "{dir}/m"], ["{missing}: no such file"]),
    "train: bad corpus file": (
        ["train", "--train", "{ragged}", "--dev", "{dev}", "--out", "{dir}/m", "--cache-dir", "{cache}"],
        ["{ragged}:4:"],
    ),
    "train: CoNLL-U format forced on a column file": (
        ["train", "--train", "{train}", "--dev", "{dev}", "--format", "conllu", "--out", "{dir}/m", "--cache-dir", "{cache}"],
        ["{train}:1:"],
    ),
    "train: unknown corpus": (["train", "--dataset", "ontonotes", "--out", "{dir}/m"], ["unknown corpus 'ontonotes'"]),
    "train: missing embeddings": (
        ["train", "--train", "{train}", "--dev", "{dev}", "--out", "{dir}/m", "--embeddings", "{missing}", "--cache-dir", "{cache}"],
        ["{missing}: no such embeddings file"],
    ),
    "train: unreadable embeddings": (
        ["train", "--train", "{train}", "--dev", "{dev}", "--out", "{dir}/m", "--embeddings", "{garbage}", "--cache-dir", "{cache}"],
        ["{garbage}:"],
    ),
    "train: out is a foreign directory": (
        ["train", "--train", "{train}", "--dev", "{dev}", "--out", "{not_a_model}", "--cache-dir", "{cache}"],
        ["{not_a_model}: exists, is not empty"],
    ),
    "train: existing model without --force": (
        ["train", "--train", "{train}", "--dev", "{dev}", "--out", "{model}", "--cache-dir", "{cache}"],
        ["a model already exists here; pass --force"],
    ),
    "train: bad option value": (
        ["train", "--train", "{train}", "--dev", "{dev}", "--out", "{dir}/m", "--dropout", "1.5", "--cache-dir", "{cache}"],
        ["dropout must be in [0, 1)"],
    ),
    "train: missing config file": (
        ["train", "--train", "{train}", "--dev", "{dev}", "--out", "{dir}/m", "--config", "{missing}"],
        ["{missing}: no such config file"],
    ),
    "evaluate: missing file": (["evaluate", "{missing}", "--model", "{model}"], ["{missing}: no such file"]),
    "evaluate: labels the model does not know": (
        ["evaluate", "{foreign}", "--model", "{model}", "--cache-dir", "{cache}"],
        ["{foreign}: label(s) the model does not know: B-COMPANY; the model's labels: O, B-LOC"],
    ),
    "evaluate: not a model": (["evaluate", "{dev}", "--model", "{not_a_model}"], ["{not_a_model}: not a tagger model"]),
    "info: not a model": (["info", "--model", "{not_a_model}"], ["{not_a_model}: not a tagger model"]),
    "embeddings info: unreadable file": (["embeddings", "info", "{garbage}"], ["{garbage}: unrecognised word-vector format"]),
    "embeddings train: missing corpus": (["embeddings", "train", "{missing}", "--out", "{dir}/v.bin"], ["{missing}: no such file"]),
}


def _fill(items: List[str], values: Dict[str, str]) -> List[str]:
    return [item.format(**values) for item in items]


@pytest.mark.parametrize("case", list(CASES))
def test_user_errors_are_one_line_exit_2(case: str, files: Dict[str, Path], ner_model: Trained) -> None:
    values = {name: str(path) for name, path in files.items()} | {"model": str(ner_model.path)}
    args, fragments = CASES[case]
    assert_user_error(invoke(_fill(args, values)), *_fill(fragments, values))
    assert not (files["dir"] / "m").exists()


@pytest.mark.parametrize(
    "config_text, suffix, fragments",
    [
        ("hidden-size: 10\nlayer: 2\n", ".yaml", ["{config}: unknown option 'layer'; known:"]),
        ('{"lr": "fast"}', ".json", ["{config}: bad value for 'lr':", "'fast' is not a valid float"]),
        ("hidden_size: [1, 2]\n", ".yml", ["{config}: bad value for 'hidden_size'"]),
        ("cell: lstm\n  bad: [indent\n", ".yaml", ["{config}:2: not valid YAML"]),
        ('{"lr": 0.1,}', ".json", ["{config}:1: not valid JSON"]),
        ("- just\n- a list\n", ".yaml", ["{config}: expected a mapping"]),
    ],
)
def test_bad_config_files(config_text: str, suffix: str, fragments: List[str], tmp_path: Path, data: Data) -> None:
    config = tmp_path / f"options{suffix}"
    config.write_text(config_text, encoding="utf-8")
    result = invoke(["train", "--train", data.train, "--dev", data.dev, "--out", tmp_path / "m", "--config", config])
    assert_user_error(result, *[f.format(config=config) for f in fragments])


def test_device_cuda_without_a_gpu(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is available here: --device cuda is not an error")
    assert_user_error(invoke(["tag", data.raw, "--model", ner_model.path, "--device", "cuda"]), "--device cuda: no CUDA GPU is available")
    assert_user_error(invoke(["evaluate", data.dev, "--model", ner_model.path, "--device", "cuda"]), "no CUDA GPU")
    result = invoke(
        ["train", "--train", data.train, "--dev", data.dev, "--out", tmp_path / "m", "--device", "cuda", "--cache-dir", data.cache]
    )
    assert_user_error(result, "--device cuda: no CUDA GPU is available")
    assert not (tmp_path / "m").exists()


def test_unknown_format_is_a_usage_error(ner_model: Trained, data: Data) -> None:
    result = invoke(["evaluate", data.dev, "--model", ner_model.path, "--format", "xml"])
    assert result.exit_code == 2 and "Invalid value for '--format'" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("how", ["flag before the command", "flag after the command", "environment"])
def test_debug_shows_the_traceback(how: str, ner_model: Trained, tmp_path: Path) -> None:
    args = ["info", "--model", str(tmp_path / "missing")]
    env = None
    if how == "flag before the command":
        args = ["--debug", *args]
    elif how == "flag after the command":
        args = [*args, "--debug"]
    else:
        env = {"TAGGER_DEBUG": "1"}
    result = invoke(args, env=env)
    # CliRunner catches the re-raised exception; a real process prints its traceback (test_cli_subprocess).
    assert isinstance(result.exception, ModelFileError) and result.exit_code == 1
    assert result.exc_info is not None and result.exc_info[2] is not None


def _raise(exception: BaseException) -> Callable[..., None]:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise exception

    return fail


def test_a_bug_is_one_line_exit_1(monkeypatch: pytest.MonkeyPatch, ner_model: Trained) -> None:
    monkeypatch.setattr("tagger.cli.info.model_info", _raise(RuntimeError("boom")))
    result = invoke(["info", "--model", ner_model.path])
    assert result.exit_code == 1
    assert result.stderr == "tagger: internal error: RuntimeError: boom (run with --debug for the traceback)\n"
    debug = invoke(["--debug", "info", "--model", ner_model.path])
    assert isinstance(debug.exception, RuntimeError)


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, ner_model: Trained) -> None:
    monkeypatch.setattr("tagger.cli.info.model_info", _raise(KeyboardInterrupt()))
    result = invoke(["info", "--model", ner_model.path])
    assert result.exit_code == 130 and result.stderr == "tagger: interrupted\n"


def test_file_errors_from_anywhere_are_one_line(monkeypatch: pytest.MonkeyPatch, ner_model: Trained) -> None:
    monkeypatch.setattr("tagger.cli.info.model_info", _raise(PermissionError(13, "Permission denied", "/models/x/vocab.json")))
    assert_user_error(invoke(["info", "--model", ner_model.path]), "/models/x/vocab.json: Permission denied")


def test_tagger_error_subclasses_all_exit_2(monkeypatch: pytest.MonkeyPatch, ner_model: Trained) -> None:
    for error in (TaggerError("plain"), ConfigError("bad option", "opts.yaml", 3)):
        monkeypatch.setattr("tagger.cli.info.model_info", _raise(error))
        assert_user_error(invoke(["info", "--model", ner_model.path]), str(error))
    assert str(ConfigError("bad option", "opts.yaml", 3)) == "opts.yaml:3: bad option"


def _commands(group: Any, prefix: List[str]) -> List[List[str]]:
    found = [prefix]
    for name, command in getattr(group, "commands", {}).items():
        found.extend(_commands(command, [*prefix, name]))
    return found


def test_every_command_has_help_with_an_example() -> None:
    from tagger.cli.main import cli

    commands = _commands(cli, [])
    assert len(commands) == 10  # tagger, train, tag, evaluate, embeddings, embeddings train, embeddings info, info, export, serve
    for command in commands:
        result = invoke([*command, "--help"])
        assert result.exit_code == 0 and "Examples:" in result.stdout and "  tagger " in result.stdout, command


def test_sigterm_exits_143_and_ctrl_c_keeps_130(monkeypatch: pytest.MonkeyPatch, ner_model: Trained) -> None:
    from tagger.signals import Terminated

    handler = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr("tagger.cli.info.model_info", _raise(Terminated("received signal 15")))
    result = invoke(["info", "--model", ner_model.path])
    assert result.exit_code == 143 and result.stderr == "tagger: terminated\n"
    monkeypatch.setattr("tagger.cli.info.model_info", _raise(KeyboardInterrupt()))
    result = invoke(["info", "--model", ner_model.path])
    assert result.exit_code == 130 and result.stderr == "tagger: interrupted\n"
    assert signal.getsignal(signal.SIGTERM) is handler  # the command leaves the process as it found it


class PickleWarning(UserWarning):
    """Like the warning loading a gensim pickle gives."""


@pytest.mark.filterwarnings("default::UserWarning")
def test_library_warnings_are_one_line(monkeypatch: pytest.MonkeyPatch, ner_model: Trained) -> None:
    def warns(*_args: Any, **_kwargs: Any) -> Any:
        warnings.warn("vectors.kv is a pickle: loading it can run code\n(you asked for it)", PickleWarning, stacklevel=1)
        raise TaggerError("stop here")

    showwarning = warnings.showwarning
    monkeypatch.setattr("tagger.cli.info.model_info", warns)
    result = invoke(["info", "--model", ner_model.path])
    assert result.exit_code == 2
    warning = "tagger: warning: vectors.kv is a pickle: loading it can run code (you asked for it)\n"
    assert result.stderr == warning + "tagger: error: stop here\n"
    assert warnings.showwarning is showwarning


LOCK_HOLDER = """
import sys
from tagger.serialization import staging_dir
with staging_dir(sys.argv[1], False):
    print("holding", flush=True)
    sys.stdin.read()
    sys.exit(3)  # leaving the block with an error: nothing is published
"""


def test_train_refuses_an_out_another_run_is_writing(files: Dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "model"
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        args = ["train", "--train", files["train"], "--dev", files["dev"], "--out", out, "--cache-dir", files["cache"]]
        assert_user_error(invoke([*args, "--max-epochs", "1"]), f"{out}: another tagger run (pid {holder.pid}) is writing this model")
    finally:
        holder.communicate("", timeout=60)
    assert not out.exists() and holder.returncode == 3
