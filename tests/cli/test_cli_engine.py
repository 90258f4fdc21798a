"""``tagger tag --engine``: numpy on the CPU by default, the same output as torch, and no torch import.

The rule itself (``tagger.engines.choose_engine``) is tested in tests/unit/test_engines.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Data, Trained, invoke, subprocess_env
from tests.cli.test_cli_errors import assert_user_error


@pytest.mark.parametrize("output", ["conll", "jsonl", "inline"])
def test_numpy_and_torch_engines_write_the_same_file(ner_model: Trained, data: Data, tmp_path: Path, output: str) -> None:
    written = {}
    for engine in ("numpy", "torch"):
        out = tmp_path / f"{engine}.{output}"
        args = ["tag", data.raw, data.tokens, "--model", ner_model.path, "--output", output, "-o", out, "--engine", engine]
        result = invoke([*args, "--device", "cpu"])
        assert result.exit_code == 0, result.output
        written[engine] = out.read_text(encoding="utf-8")
    if output == "jsonl":  # the span scores are float32 emissions' probabilities: equal to rounding, the rest exactly
        scores = {}
        for engine, text in written.items():
            records = [json.loads(line) for line in text.splitlines()]
            scores[engine] = [span.pop("score") for record in records for span in record["spans"]]
            written[engine] = json.dumps(records)
        assert scores["numpy"] == pytest.approx(scores["torch"], abs=1e-5) and scores["numpy"]
    assert written["numpy"] == written["torch"]
    if output == "inline":
        assert written["numpy"].startswith("[PER John Smith] lives in [LOC Paris] .\n")


def test_engines_agree_on_a_gru_softmax_char_lstm_model(pos_model: Trained, data: Data) -> None:
    args = ["tag", data.conllu, "--input", "conll", "--model", pos_model.path, "--device", "cpu"]
    outputs = [invoke([*args, "--engine", engine]) for engine in ("numpy", "torch")]
    assert all(result.exit_code == 0 for result in outputs), [r.output for r in outputs]
    assert outputs[0].stdout == outputs[1].stdout and outputs[0].stdout.count("\n\n") == 3


def test_cli_tagging_with_numpy_never_imports_torch(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    out = tmp_path / "tagged.conll"
    code = (
        "import sys\n"
        "from cli.main import cli\n"
        f"args = ['tag', {str(data.tokens)!r}, '--input', 'tokens', '--model', {str(ner_model.path)!r}, '-o', {str(out)!r}]\n"
        "try:\n"
        "    cli(args, prog_name='tagger')\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    env = {**subprocess_env(tmp_path), "CUDA_VISIBLE_DEVICES": ""}  # auto picks numpy even where a GPU is visible
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert probe.returncode == 0, probe.stderr
    assert out.read_text(encoding="utf-8").startswith("John\tB-PER\nSmith\tI-PER\n")


def test_numpy_with_a_gpu_device_is_a_usage_error(ner_model: Trained, data: Data) -> None:
    for device in ("cuda", "cuda:1"):
        result = invoke(["tag", data.raw, "--model", ner_model.path, "--engine", "numpy", "--device", device])
        assert_user_error(result, f"--engine numpy runs on the CPU; --device {device} needs --engine torch")
    assert_user_error(invoke(["tag", data.raw, "--model", ner_model.path, "--engine", "numpy", "--device", "tpu"]), "--device must be")
