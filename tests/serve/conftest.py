"""Fixtures of the server tests: tiny trained models (once per session) and a live server in a thread."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

pytest.importorskip("fastapi", reason="tagger serve needs the serve extra: pip install tagger[serve]")
pytest.importorskip("uvicorn", reason="tagger serve needs the serve extra: pip install tagger[serve]")


@pytest.fixture(scope="session")
def ner_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.integration.tiny_models import train_ner

    return train_ner(tmp_path_factory.mktemp("serve") / "ner")


@pytest.fixture(scope="session")
def pos_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.integration.tiny_models import train_upos

    return train_upos(tmp_path_factory.mktemp("serve") / "pos")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server():
    """Run an app with uvicorn in a thread (no signal handlers: not the main thread); yields a URL maker."""
    import uvicorn

    servers = []

    def start(app) -> str:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.config.port}/"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive()


@pytest.fixture
def app_client(ner_model: Path) -> Iterator:
    from fastapi.testclient import TestClient

    from tagger.serve import create_app

    with TestClient(create_app(ner_model), raise_server_exceptions=False) as client:
        yield client
