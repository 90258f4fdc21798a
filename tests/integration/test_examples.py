"""Every script in examples/ runs, on tiny models trained here (the integrations' optional extras installed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import NER_SENTENCES, conll_text, subprocess_env
from tests.integration.tiny_models import train_ner

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def ner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_ner(tmp_path_factory.mktemp("examples") / "ner")


def run(tmp_path: Path, *args: str, stdin: str = "") -> str:
    done = subprocess.run([sys.executable, *args], input=stdin, env=subprocess_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_example_has_a_test() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == [
        "datasets_map.py",
        "onnx_serving.py",
        "ray_tag.py",
        "spacy_pipeline.py",
        "spark_tag.py",
    ]


def test_spacy_pipeline(ner: Path, tmp_path: Path) -> None:
    pytest.importorskip("spacy", reason="the example needs the spacy extra: pip install tagger[spacy]")
    out = run(tmp_path, str(EXAMPLES / "spacy_pipeline.py"), str(ner), "John Smith lives in Paris.", "Mary flew to New York.")
    lines = out.splitlines()
    assert lines[0].startswith("John Smith PER ") and " | Paris LOC " in lines[0] and lines[1].startswith("Mary PER ")


def test_datasets_map(ner: Path, tmp_path: Path) -> None:
    dev = tmp_path / "dev.txt"
    dev.write_text(conll_text(NER_SENTENCES), encoding="utf-8")
    out = run(tmp_path, str(EXAMPLES / "datasets_map.py"), str(ner), str(dev))
    assert out.splitlines()[0].startswith("John/B-PER Smith/I-PER lives/O")
    assert out.splitlines()[1].startswith("F1 1.0000 on ")


def test_onnx_serving(ner: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="the example needs the onnx extra: pip install tagger[onnx]")
    from tagger.onnx_export import export_onnx

    onnx_file = export_onnx(ner, tmp_path / "ner.onnx")
    text = "John Smith lives in Paris.\nMary flew to New York with British Airways.\n"
    records = [json.loads(line) for line in run(tmp_path, str(EXAMPLES / "onnx_serving.py"), str(onnx_file), stdin=text).splitlines()]
    import tagger

    expected = tagger.load(ner, engine="numpy").tag(text, scores=True)
    assert [[(s["label"], s["start_char"], s["end_char"]) for s in r["spans"]] for r in records] == [
        [(s.label, s.start_char, s.end_char) for s in sentence.spans] for sentence in expected
    ]
    assert [s["score"] for r in records for s in r["spans"]] == pytest.approx([s.score for e in expected for s in e.spans], abs=1e-5)
    assert records[0]["spans"][0]["text"] == "John Smith"


def test_ray_tag_writes_what_tagger_tag_writes(ner: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the example needs the ray extra: pip install tagger[ray]")
    from tests.cli.conftest import invoke

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    lines = [text for text, _ in NER_SENTENCES] * 3
    (inputs / "a.txt").write_text("\n".join(lines[:9]) + "\n", encoding="utf-8")
    (inputs / "b.txt").write_text("\n".join(lines[9:]) + "\n", encoding="utf-8")
    run(tmp_path, str(EXAMPLES / "ray_tag.py"), str(ner), str(inputs), str(tmp_path / "out"), "--num-cpus", "2")
    rows = [json.loads(line) for path in sorted((tmp_path / "out").glob("*.json")) for line in path.read_text().splitlines()]
    expected = invoke(["tag", inputs / "a.txt", inputs / "b.txt", "--model", ner, "--input", "tokens", "--output", "jsonl"])
    assert expected.exit_code == 0, expected.output
    reference = [json.loads(line) for line in expected.stdout.splitlines()]

    def kept(record: dict) -> tuple:
        spans = [(s["label"], s["start"], s["end"], s["text"], round(s["score"], 5)) for s in record["spans"]]
        return record["tokens"], record["tags"], spans

    assert sorted(map(kept, rows)) == sorted(map(kept, reference)) and len(rows) == len(lines)


def test_spark_tag_writes_what_tagger_tag_writes_in_order(ner: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyspark", reason="the example needs the spark extra: pip install tagger[spark]")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (17 or later) on PATH")
    from tests.cli.conftest import invoke

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    lines = [text for text, _ in NER_SENTENCES] * 3
    (inputs / "a.txt").write_text("\n".join(lines[:5]) + "\n", encoding="utf-8")  # the smaller file: Spark reads it last
    (inputs / "b.txt").write_text("\n\n".join(lines[5:]) + "\n", encoding="utf-8")  # blank lines are skipped
    out = tmp_path / "out"
    run(tmp_path, str(EXAMPLES / "spark_tag.py"), str(ner), str(inputs), str(out), "--master", "local[2]", "--driver-memory", "512m")
    rows = [json.loads(line) for path in sorted(out.glob("part-*.json")) for line in path.read_text().splitlines()]
    expected = invoke(["tag", inputs / "a.txt", inputs / "b.txt", "--model", ner, "--input", "tokens", "--output", "jsonl"])
    assert expected.exit_code == 0, expected.output
    reference = [json.loads(line) for line in expected.stdout.splitlines()]

    def kept(record: dict) -> tuple:
        """The record with offsets into its line (tagger tag's are into the file; these lines start with a token)."""
        line = record["offsets"][0][0]
        offsets = [[start - line, end - line] for start, end in record["offsets"]]
        spans = [
            {**span, "start_char": span["start_char"] - line, "end_char": span["end_char"] - line, "score": round(span["score"], 5)}
            for span in record["spans"]
        ]
        return record["tokens"], offsets, record["tags"], spans

    assert len(reference) == len(lines) and [r["tokens"] for r in reference] == [line.split() for line in lines]
    assert rows[1]["offsets"][0] == [0, 3] and reference[1]["offsets"][0] == [28, 31]
    assert list(map(kept, rows)) == list(map(kept, reference))  # in input order, not only the same rows
