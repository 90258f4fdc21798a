"""``tagger export --format onnx``: the round trip through ``tagger tag --model OUT.onnx``, int8, and its errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.cli.conftest import Data, Trained, invoke
from tests.cli.test_cli_errors import assert_user_error

pytest.importorskip("onnxruntime", reason="tagger export needs the onnx extra: pip install tagger[onnx]")


def test_export_then_tag_gives_the_directorys_output(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    out = tmp_path / "ner.onnx"
    result = invoke(["export", "--model", ner_model.path, "--format", "onnx", out])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"tagger: wrote {out} (") and out.stat().st_size > 0
    for output in ("conll", "jsonl"):
        reference = invoke(["tag", data.raw, data.tokens, "--model", ner_model.path, "--engine", "numpy", "--output", output])
        assert reference.exit_code == 0, reference.output
        for engine in ("auto", "onnx"):
            tagged = invoke(["tag", data.raw, data.tokens, "--model", out, "--engine", engine, "--output", output])
            assert tagged.exit_code == 0, tagged.output
            if output == "conll":
                assert tagged.stdout == reference.stdout
            else:  # the same records, but the span scores are floats from another engine's emissions
                ours, theirs = _records(tagged.stdout), _records(reference.stdout)
                assert [score for record in ours for score in record.pop("scores")] == pytest.approx(
                    [score for record in theirs for score in record.pop("scores")], abs=1e-5
                )
                assert ours == theirs
    inline = invoke(["tag", data.raw, "--model", out, "--output", "inline"])
    assert inline.stdout.startswith("[PER John Smith] lives in [LOC Paris] .\n")


def _records(jsonl: str) -> List[Dict[str, Any]]:
    """JSON lines, each span's score moved to a list ``scores`` of the record."""
    records = [json.loads(line) for line in jsonl.splitlines()]
    for record in records:
        record["scores"] = [span.pop("score", None) for span in record["spans"]]
    return records


def test_int8_export_tags(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    out = tmp_path / "ner-int8.onnx"
    result = invoke(["export", "--model", ner_model.path, "--quantize", "int8", out])
    assert result.exit_code == 0, result.output
    assert "int8 weights" in result.stderr
    tagged = invoke(["tag", data.tokens, "--input", "tokens", "--model", out])
    assert tagged.exit_code == 0, tagged.output
    assert [len(block.splitlines()) for block in tagged.stdout.strip().split("\n\n")] == [6, 9]


def test_an_existing_file_needs_force(ner_model: Trained, tmp_path: Path) -> None:
    out = tmp_path / "ner.onnx"
    out.write_text("keep me", encoding="utf-8")
    assert_user_error(invoke(["export", "--model", ner_model.path, out]), str(out), "exists; pass --force")
    assert out.read_text(encoding="utf-8") == "keep me"
    result = invoke(["export", "--model", ner_model.path, out, "--force"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() != b"keep me"


def test_user_errors_are_one_line(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    assert_user_error(invoke(["export", "--model", tmp_path / "nothing", tmp_path / "a.onnx"]), "no such model directory")
    assert_user_error(invoke(["export", "--model", ner_model.path, tmp_path / "a.bin"]), "must end in .onnx")
    hostile = tmp_path / "hostile.onnx"
    hostile.write_bytes(b"\x00" * 100)
    assert_user_error(invoke(["tag", data.raw, "--model", hostile]), str(hostile))
    out = tmp_path / "ner.onnx"
    assert invoke(["export", "--model", ner_model.path, out]).exit_code == 0
    assert_user_error(invoke(["tag", data.raw, "--model", out, "--engine", "numpy"]), "--engine numpy needs a model directory")
    assert_user_error(invoke(["tag", data.raw, "--model", ner_model.path, "--engine", "onnx"]), "--engine onnx needs an .onnx file")


def test_unknown_format_and_quantisation_are_usage_errors(ner_model: Trained, tmp_path: Path) -> None:
    for option in (["--format", "tflite"], ["--quantize", "int4"]):
        result = invoke(["export", "--model", ner_model.path, *option, tmp_path / "a.onnx"])
        assert result.exit_code == 2 and "Invalid value" in result.stderr, result.output


def test_tag_never_writes_over_the_onnx_file_and_info_reads_it(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    out = tmp_path / "ner.onnx"
    assert invoke(["export", "--model", ner_model.path, out]).exit_code == 0
    before = out.read_bytes()
    result = invoke(["tag", data.raw, "--model", out, "-o", out])
    assert result.exit_code == 2 and f"is the model file {out}" in result.output
    assert out.read_bytes() == before
    info = invoke(["info", "--model", out, "--json"])
    assert info.exit_code == 0, info.output
    record = json.loads(info.stdout)
    assert record["engine"] == "onnx" and record["files"] == ["ner.onnx"] and record["size_bytes"] == len(before)
    directory = json.loads(invoke(["info", "--model", ner_model.path, "--json"]).stdout)
    shared = ("labels", "scheme", "model", "scores")
    assert {k: record[k] for k in shared} == {k: directory[k] for k in shared}
    assert "ner.onnx (" in invoke(["info", "--model", out]).stdout
