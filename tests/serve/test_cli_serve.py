"""``tagger serve`` as a user runs it: a subprocess on a free port, requests, SIGTERM with a request in flight."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from tagger.cli.main import cli

REPO = Path(__file__).resolve().parents[2]


def start_server(model: Path, *options: str) -> tuple:
    """Start `tagger serve --port 0`; returns the process and its URL, read from uvicorn's startup line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tagger", "serve", "--model", str(model), "--port", "0", *options],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
        if found:
            return process, found.group(1)
    raise AssertionError(f"the server did not start (exit {process.wait()}):\n{''.join(lines)}")


def stop(process: subprocess.Popen) -> None:
    """Kill the server if it still runs, and close its stderr pipe."""
    if process.poll() is None:
        process.kill()
        process.wait()
    if process.stderr is not None:
        process.stderr.close()


def test_serve_answers_then_finishes_the_request_in_flight_on_sigterm_and_exits_0(ner_model):
    process, url = start_server(ner_model, "--max-wait-ms", "1500")
    try:
        first = httpx.post(f"{url}/tag", json={"text": "John Smith lives in Paris."}, timeout=30)
        assert first.status_code == 200
        assert [span["label"] for span in first.json()["sentences"][0]["spans"]] == ["PER", "LOC"]
        assert httpx.get(f"{url}/health", timeout=30).json()["status"] == "ok"

        in_flight = {}

        def slow_request() -> None:  # waits --max-wait-ms in the batcher: still in flight at SIGTERM
            in_flight["response"] = httpx.post(f"{url}/tag", json={"text": "Peter Blackburn"}, timeout=30)

        thread = threading.Thread(target=slow_request)
        thread.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        thread.join(30)
        assert process.wait(30) == 0
        assert in_flight["response"].status_code == 200
        assert in_flight["response"].json()["sentences"][0]["tokens"] == ["Peter", "Blackburn"]
        log = process.stderr.read()
        assert "Shutting down" in log and "Traceback" not in log
    finally:
        stop(process)


def test_serve_on_a_port_in_use_is_one_line_exit_2(ner_model):
    process, url = start_server(ner_model)
    try:
        port = url.rsplit(":", 1)[1]
        second = subprocess.run(
            [sys.executable, "-m", "tagger", "serve", "--model", str(ner_model), "--port", port],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2
        assert f"tagger: error: could not serve on 127.0.0.1:{port}" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        stop(process)


def test_serve_with_a_missing_model_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--model", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert result.output.startswith("tagger: error:") and len(result.output.strip().splitlines()) == 1


def test_serve_options_are_checked_before_the_model_loads(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--model", str(tmp_path), "--engine", "numpy", "--device", "cuda"])
    assert result.exit_code == 2 and "runs on the CPU" in result.output
    result = CliRunner().invoke(cli, ["serve", "--model", str(tmp_path), "--max-batch-tokens", "0"])
    assert result.exit_code == 2 and "max-batch-tokens" in result.output
