"""Tests for ``tagger tag``: every input and output format, stdin, -o, several files, offsets.

The laziness of the readers and of tagging is tested on the library (tests/unit/test_inputs.py, test_tagging.py).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest

from tests.cli.conftest import RAW_TEXT, Data, Trained, invoke, subprocess_env


def jsonl(text: str) -> List[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_text_to_jsonl_spans_slice_the_original_file(ner_model: Trained, data: Data) -> None:
    result = invoke(["tag", data.raw, "--model", ner_model.path, "--output", "jsonl"])
    assert result.exit_code == 0, result.output
    records = jsonl(result.stdout)
    original = data.raw.read_bytes().decode("utf-8")  # \r\n kept: offsets count every character
    assert original == RAW_TEXT
    assert [r["tokens"] for r in records] == [
        ["John", "Smith", "lives", "in", "Paris", "."],
        ["Rain", "fell", "on", "1996-08-22", "in", "London", "and", "Rome", "."],
        ["Peter", "Blackburn"],
    ]
    for record in records:
        assert record["file"] == str(data.raw) and len(record["tags"]) == len(record["tokens"])
        for token, (start, end) in zip(record["tokens"], record["offsets"]):
            assert original[start:end] == token
        for span in record["spans"]:
            assert original[span["start_char"] : span["end_char"]] == span["text"]
    spans = [(s["label"], s["text"], s["start"], s["end"]) for r in records for s in r["spans"]]
    assert spans == [
        ("PER", "John Smith", 0, 2),
        ("LOC", "Paris", 4, 5),
        ("LOC", "London", 5, 6),
        ("LOC", "Rome", 7, 8),
        ("PER", "Peter Blackburn", 0, 2),
    ]
    assert records[1]["offsets"][0][0] == original.index("Rain")  # after the \r\n


def test_text_to_conll_and_inline(ner_model: Trained, data: Data) -> None:
    conll = invoke(["tag", data.raw, "--model", ner_model.path])
    assert conll.exit_code == 0, conll.output
    blocks = conll.stdout.split("\n\n")
    assert blocks[0].splitlines() == ["John\tB-PER", "Smith\tI-PER", "lives\tO", "in\tO", "Paris\tB-LOC", ".\tO"]
    assert conll.stdout.endswith("\n\n") and len([b for b in blocks if b]) == 3
    inline = invoke(["tag", data.raw, "--model", ner_model.path, "--output", "inline"])
    assert inline.stdout.splitlines() == [
        "[PER John Smith] lives in [LOC Paris] .",
        "Rain fell on 1996-08-22 in [LOC London] and [LOC Rome] .",
        "[PER Peter Blackburn]",
    ]


def test_tokens_from_stdin_keep_offsets_into_the_input(ner_model: Trained, data: Data) -> None:
    text = data.tokens.read_text(encoding="utf-8")
    for args in (["-"], []):
        result = invoke(["tag", *args, "--input", "tokens", "--model", ner_model.path, "--output", "jsonl"], input=text)
        assert result.exit_code == 0, result.output
        records = jsonl(result.stdout)
        assert [r["file"] for r in records] == ["-", "-"]
        first = records[0]
        assert first["tokens"] == ["John", "Smith", "lives", "in", "Paris", "."]
        score = first["spans"][0].pop("score")  # jsonl spans always carry their probability
        assert first["spans"][0] == {"label": "PER", "start": 0, "end": 2, "start_char": 0, "end_char": 11, "text": "John  Smith"}
        assert 0.0 < score <= 1.0
        assert text[records[1]["offsets"][0][0] :].startswith("Mary flew")
    inline = invoke(["tag", "--input", "tokens", "--model", ner_model.path, "--output", "inline"], input="Peter Blackburn\n")
    assert inline.stdout == "[PER Peter Blackburn]\n"


def test_conll_input_keeps_its_columns_and_appends_the_prediction(ner_model: Trained, data: Data) -> None:
    result = invoke(["tag", data.train, "--input", "conll", "--model", ner_model.path])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines() if line]
    assert rows[0] == ["John", "NNP", "O", "B-PER", "B-PER"]
    assert all(len(row) == 5 for row in rows)
    assert sum(1 for row in rows if row[3] == row[4]) == len(rows)  # the model fits its training file
    as_json = jsonl(invoke(["tag", data.dev, "--input", "conll", "--model", ner_model.path, "--output", "jsonl"]).stdout)
    first = as_json[0]
    assert 0.0 < first["spans"][0].pop("score") <= 1.0
    assert first["spans"][0] == {"label": "PER", "start": 0, "end": 2, "start_char": 0, "end_char": 10, "text": "John Smith"}
    assert first["offsets"][:2] == [[0, 4], [5, 10]]  # into " ".join(tokens)


def test_conllu_input_and_a_plain_tag_model(pos_model: Trained, data: Data) -> None:
    result = invoke(["tag", data.conllu, "--input", "conll", "--model", pos_model.path, "--format", "conllu"])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines() if line]
    assert len(rows) == 12 and all(len(row) == 11 for row in rows)
    assert rows[0][:4] == ["1", "the", "the", "DET"]
    inline = invoke(["tag", "--input", "tokens", "--model", pos_model.path, "--output", "inline"], input="the cat sat\n")
    words = inline.stdout.split()
    assert [w.split("/")[0] for w in words] == ["the", "cat", "sat"] and all("/" in w for w in words)
    records = jsonl(invoke(["tag", "--input", "tokens", "--model", pos_model.path, "--output", "jsonl"], input="the cat sat\n").stdout)
    assert records[0]["spans"] == [] and len(records[0]["tags"]) == 3


def test_several_files_go_to_one_output_file_atomically(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    out = tmp_path / "tagged.jsonl"
    result = invoke(["tag", data.raw, data.tokens, "--input", "text", "--model", ner_model.path, "--output", "jsonl", "-o", out])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    records = jsonl(out.read_text(encoding="utf-8"))
    assert [r["file"] for r in records] == [str(data.raw)] * 3 + [str(data.tokens)] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tagged.jsonl"]
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # not the temporary file's 0600


def test_a_failed_run_leaves_no_partial_output(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine first line\nthen caf\xe9\n")
    out = tmp_path / "out.conll"
    out.write_text("previous result\n", encoding="utf-8")
    result = invoke(["tag", data.raw, bad, "--model", ner_model.path, "-o", out])
    assert result.exit_code == 2
    assert f"tagger: error: {bad}:2: not UTF-8" in result.stderr and "Traceback" not in result.output
    assert out.read_text(encoding="utf-8") == "previous result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "out.conll"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--input", "xml"], "'xml' is not one of"),
        (["--output", "html"], "'html' is not one of"),
        (["--batch-size", "0"], "0 is not in the range"),
        (["--format", "conllu"], "--format applies to --input conll"),
        (["-", "-"], "stdin (-) can be read only once"),
        (["--probs"], "--probs applies to --output jsonl"),
        (["--nbest", "2", "--output", "inline"], "--nbest applies to --output jsonl"),
        (["--nbest", "0", "--output", "jsonl"], "0 is not in the range"),
        (["--nbest", "1001", "--output", "jsonl"], "--nbest 1001 is more than 1000 paths"),
    ],
)
def test_usage_errors(ner_model: Trained, args: List[str], message: str) -> None:
    result = invoke(["tag", *args, "--model", ner_model.path], input="x\n")
    assert result.exit_code == 2 and message in result.stderr


def test_jsonl_span_scores_probs_and_nbest(ner_model: Trained, data: Data) -> None:
    """What --output jsonl adds is what the library gives: span scores always, probs and nbest when asked."""
    from tagger.engines import load

    text = data.tokens.read_text(encoding="utf-8")
    args = ["tag", "--input", "tokens", "--model", ner_model.path, "--output", "jsonl"]
    plain = jsonl(invoke(args, input=text).stdout)
    result = invoke([*args, "--probs", "--nbest", "3"], input=text)
    assert result.exit_code == 0, result.output
    records = jsonl(result.stdout)
    tagger = load(ner_model.path)
    tokens = [record["tokens"] for record in records]
    expected_spans = tagger.predict_spans(tokens, scores=True)
    for record, unasked, spans, proba, paths in zip(
        records, plain, expected_spans, tagger.predict_proba(tokens), tagger.predict_nbest(tokens, 3)
    ):
        assert record["tags"] == unasked["tags"] and record["spans"] == unasked["spans"]
        assert [(s["label"], s["start"], s["end"], s["score"]) for s in record["spans"]] == [
            (s.label, s.start, s.end, s.score) for s in spans
        ]
        assert record["labels"] == tagger.labels and record["probs"] == proba.tolist()
        assert record["nbest"] == [path.to_dict() for path in paths] and record["nbest"][0]["tags"] == record["tags"]
        assert "labels" not in unasked and "probs" not in unasked and "nbest" not in unasked


def test_conll_and_inline_bytes_do_not_change_with_scores(ner_model: Trained, data: Data) -> None:
    """Span scores are for jsonl only: the other formats stay byte for byte what they were."""
    for output in ("conll", "inline"):
        result = invoke(["tag", data.raw, "--model", ner_model.path, "--output", output])
        assert result.exit_code == 0 and "score" not in result.stdout and "0." not in result.stdout


def test_help_has_examples() -> None:
    result = invoke(["tag", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.stdout and "--output inline" in result.stdout
    assert "--nbest K" in result.stdout and '"score"' in result.stdout and "--probs" in result.stdout


# ----------------------------------------------------------------------------- -o never destroys data (issue 9)


def test_out_writes_through_a_fifo(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there, so the writer's open does not wait
    try:
        result = invoke(["tag", data.raw, "--model", ner_model.path, "--output", "inline", "-o", fifo])
        assert result.exit_code == 0, result.output
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        assert os.read(reader, 1 << 16).decode("utf-8").splitlines()[0] == "[PER John Smith] lives in [LOC Paris] ."
    finally:
        os.close(reader)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def device_node(tmp_path: Path, name: str, major: int, minor: int) -> Path:
    """A private copy of a character device (as root), so a broken -o cannot replace the system's /dev node."""
    if os.geteuid() != 0:
        return Path("/dev") / name  # a user cannot replace /dev's nodes; the test then uses them directly
    path = tmp_path / name
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    return path


def test_out_writes_through_a_character_device(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    null = device_node(tmp_path, "null", 1, 3)
    result = invoke(["tag", data.raw, "--model", ner_model.path, "-o", null])
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.lstat(null).st_mode) and result.stdout == ""
    assert not [p for p in null.parent.iterdir() if p.name.startswith(".null.")]


def test_a_full_device_is_one_line_naming_it(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    full = device_node(tmp_path, "full", 1, 7)
    result = invoke(["tag", data.raw, "--model", ner_model.path, "-o", full])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"tagger: error: {full}: cannot write: No space left on device\n"
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_out_follows_a_symlink_and_keeps_it(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    real = tmp_path / "results" / "tagged.conll"
    real.parent.mkdir()
    real.write_text("previous\n")
    real.chmod(0o640)
    link = tmp_path / "latest.conll"
    link.symlink_to(Path("results") / "tagged.conll")
    result = invoke(["tag", data.raw, "--model", ner_model.path, "-o", link])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == os.path.join("results", "tagged.conll")
    assert real.read_text(encoding="utf-8").startswith("John\tB-PER\n")
    assert real.stat().st_mode & 0o777 == 0o640  # the replaced file's mode, not the temporary file's
    assert sorted(p.name for p in real.parent.iterdir()) == ["tagged.conll"]
    dangling = tmp_path / "new.conll"
    dangling.symlink_to(Path("results") / "created.conll")
    assert invoke(["tag", data.raw, "--model", ner_model.path, "-o", dangling]).exit_code == 0
    assert dangling.is_symlink() and (real.parent / "created.conll").read_text(encoding="utf-8").startswith("John\t")


def test_a_symlink_loop_is_one_line(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.symlink_to(b)
    b.symlink_to(a)
    result = invoke(["tag", data.raw, "--model", ner_model.path, "-o", a])
    assert result.exit_code == 2 and result.stderr == f"tagger: error: {a}: symlink loop\n", result.output
    assert a.is_symlink() and b.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_out_never_names_an_input(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    text = tmp_path / "article.txt"
    text.write_text("John Smith lives in Paris.\n")
    link = tmp_path / "link.txt"
    link.symlink_to(text)
    hard = tmp_path / "hard.txt"
    os.link(text, hard)
    for out in (text, link, hard):
        # --model names no model: the output is refused before the model loads
        result = invoke(["tag", data.raw, text, "--model", tmp_path / "no-model", "-o", out])
        assert result.exit_code == 2, result.output
        assert result.stderr == f"tagger: error: {out}: is the input {text}; tagging in place would replace it, write elsewhere\n"
    assert text.read_text() == "John Smith lives in Paris.\n"


def test_out_never_writes_into_the_model_directory(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in ner_model.path.iterdir()}
    for out in (ner_model.path / "vocab.json", ner_model.path / "tags.conll"):
        result = invoke(["tag", data.raw, "--model", ner_model.path, "-o", out])
        assert result.exit_code == 2, result.output
        assert result.stderr == f"tagger: error: {out}: is inside the model directory {ner_model.path}; write elsewhere\n"
    hard = tmp_path / "weights"
    os.link(ner_model.path / "model.safetensors", hard)
    result = invoke(["tag", data.raw, "--model", ner_model.path, "-o", hard])
    assert result.exit_code == 2 and "is the model file" in result.stderr, result.output
    assert {p.name: p.read_bytes() for p in ner_model.path.iterdir()} == before


def deny_creating_in(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As if ``directory`` were read-only (the tests may run as root, whom chmod does not stop)."""
    real = os.open

    def guarded(path, flags, mode=0o777, *, dir_fd=None):
        if flags & os.O_CREAT and os.path.dirname(os.path.abspath(os.fspath(path))) == str(directory):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", guarded)


def test_a_read_only_directory_is_one_line_naming_the_output(
    ner_model: Trained, data: Data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.conll"
    out.write_text("previous\n")
    deny_creating_in(tmp_path, monkeypatch)
    result = invoke(["tag", data.raw, "--model", ner_model.path, "-o", out])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"tagger: error: {out}: cannot write: Permission denied\n"
    assert out.read_text() == "previous\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out.conll"]


@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_a_full_disk_is_one_line_and_keeps_the_old_file(
    failing: str, ner_model: Trained, data: Data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.conll"
    out.write_text("previous\n")
    real = getattr(os, failing)

    def full(fd: int, *args):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path)):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, *args)

    monkeypatch.setattr(os, failing, full)
    result = invoke(["tag", data.raw, "--model", ner_model.path, "-o", out])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"tagger: error: {out}: cannot write: No space left on device\n"
    assert out.read_text() == "previous\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out.conll"]


def test_out_is_a_directory_or_in_a_missing_one(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    result = invoke(["tag", data.raw, "--model", ner_model.path, "-o", tmp_path])
    assert result.exit_code == 2 and result.stderr == f"tagger: error: {tmp_path}: is a directory; -o names the output file\n"
    missing = tmp_path / "nowhere" / "out.conll"
    result = invoke(["tag", data.raw, "--model", ner_model.path, "-o", missing])
    assert result.exit_code == 2 and result.stderr == f"tagger: error: {missing}: cannot write: directory {missing.parent} does not exist\n"


def test_sigterm_leaves_no_partial_file_and_the_old_output(ner_model: Trained, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("John Smith lives in Paris .\n" * 200_000, encoding="utf-8")
    out = tmp_path / "out.conll"
    out.write_text("previous\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "tagger.cli", "tag", str(big), "--input", "tokens", "--model", str(ner_model.path), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(tmp_path),
    )
    try:
        deadline = time.monotonic() + 60
        while not [p for p in tmp_path.iterdir() if p.name.endswith(".partial") and p.stat().st_size > 0]:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the output file never started"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert (process.returncode, stdout, stderr) == (143, b"", b"tagger: terminated\n")
    assert out.read_text() == "previous\n"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_stdout_as_a_path_writes_to_the_process_stdout(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    for spelling in ("/dev/stdout", "/proc/self/fd/1"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tagger.cli",
                "tag",
                str(data.raw),
                "--model",
                str(ner_model.path),
                "--output",
                "inline",
                "-o",
                spelling,
            ],
            capture_output=True,
            env=subprocess_env(tmp_path),
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.decode("utf-8").splitlines()[0] == "[PER John Smith] lives in [LOC Paris] ."
    assert os.path.islink("/dev/stdout") or stat.S_ISCHR(os.stat("/dev/stdout").st_mode)


@pytest.mark.parametrize("input_format", ["text", "tokens"])
def test_utf16_text_input_is_one_line_error_naming_the_file(ner_model: Trained, tmp_path: Path, input_format: str) -> None:
    path = tmp_path / "utf16.txt"
    path.write_bytes("John Smith lives in Paris .\n".encode("utf-16"))  # with its byte-order mark
    result = invoke(["tag", str(path), "--model", ner_model.path, "--input", input_format])
    assert result.exit_code == 2, result.output
    assert f"{path}:1: UTF-16 text" in result.stderr and "Traceback" not in result.output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is a glibc (Linux) function")
def test_the_cli_opts_in_to_the_allocator_setting(ner_model: Trained, data: Data, tmp_path: Path) -> None:
    """``tagger tag`` applies keep_freed_memory (the library no longer does it implicitly)."""
    code = (
        "import tagger.allocator as allocator\n"
        "from cli.main import cli\n"
        f"args = ['tag', {str(data.tokens)!r}, '--input', 'tokens', '--model', {str(ner_model.path)!r}, '-o', {str(tmp_path / 'out')!r}]\n"
        "try:\n"
        "    cli(args, prog_name='tagger')\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print(allocator._tuned)\n"
    )
    env = {k: v for k, v in subprocess_env(tmp_path).items() if k != "TAGGER_MALLOPT"}
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["True"]
