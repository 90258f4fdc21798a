"""``tagger serve``: the HTTP API and page of ``tagger.serve.create_app``, run by uvicorn.

This command checks the options, loads the model and hands the application to uvicorn. SIGTERM (or
Ctrl-C) stops it gracefully: no new connections, the requests in flight are answered, then the
process exits 0.
"""

from __future__ import annotations

import click

from tagger.cli.options import debug_option, device_option, engine_option, model_option

EPILOG = """\b
Examples:
  tagger serve --model models/ner                      # http://127.0.0.1:8080/ : the page
  tagger serve --model models/ner --port 0             # any free port (uvicorn prints which)
  curl -s localhost:8080/tag -d '{"text": "John Smith lives in Paris."}'
  curl -s localhost:8080/tag -d '{"tokens": [["John", "Smith"]], "format": "displacy"}'

\b
POST /tag     {"text": "..."}, {"texts": ["...", ...]} or {"tokens": [["...", ...], ...]}, and
              optionally "format": "displacy"; answers the objects `tagger tag --output jsonl` writes
GET  /health  {"status": "ok", "pending_tokens": N}
GET  /info    the model's configuration, labels, scheme and dev scores, and the server's limits
GET  /docs    the OpenAPI documentation
GET  /        a page that tags a text and highlights its entities

\b
Concurrent requests are tagged together: those arriving within --max-wait-ms share one batch of
at most --max-batch-tokens tokens. Needs pip install tagger[serve]."""


@click.command("serve", epilog=EPILOG)
@model_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="The TCP port (0: any free one).")
@engine_option
@device_option
@click.option(
    "--max-batch-tokens", type=click.IntRange(min=1), default=4096, show_default=True, help="The most tokens tagged in one batch."
)
@click.option(
    "--max-wait-ms",
    type=click.FloatRange(min=0, max=10_000),
    default=5.0,
    show_default=True,
    help="How long a request may wait for others to share its batch.",
)
@click.option(
    "--max-body-bytes", type=click.IntRange(min=1), default=1 << 20, show_default=True, help="The largest request body (larger: 413)."
)
@click.option(
    "--max-request-tokens",
    type=click.IntRange(min=1),
    default=20_000,
    show_default=True,
    help="The most tokens one request may ask to tag (more: 413).",
)
@click.option(
    "--max-pending-tokens",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="The most tokens waiting to be tagged; requests beyond that get 503.",
)
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="Log every request on stderr.")
@debug_option
def serve_command(
    model_dir: str,
    host: str,
    port: int,
    engine: str,
    device: str,
    max_batch_tokens: int,
    max_wait_ms: float,
    max_body_bytes: int,
    max_request_tokens: int,
    max_pending_tokens: int,
    access_log: bool,
) -> None:
    """Serve the model in DIR over HTTP: a JSON API and a page that shows the entities it finds."""
    from tagger.engines import choose_engine
    from tagger.errors import ConfigError

    choose_engine(engine, device)  # a usage error before the model loads
    try:
        import uvicorn

        from tagger.serve import Limits, create_app
    except ImportError as error:
        raise ConfigError(f"tagger serve needs the serve extra (pip install tagger[serve]): {error}") from None

    limits = Limits(max_body_bytes=max_body_bytes, max_request_tokens=max_request_tokens, max_pending_tokens=max_pending_tokens)
    app = create_app(model_dir, engine=engine, device=device, max_batch_tokens=max_batch_tokens, max_wait_ms=max_wait_ms, limits=limits)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, access_log=access_log, log_level="info"))
    from tagger.signals import Terminated

    try:
        server.run()
    except Terminated:
        # uvicorn stops gracefully on SIGTERM, then raises the signal again for the handler it found
        # (the CLI's, which raises Terminated): a stop asked for and done is a success, not exit 143.
        if not server.should_exit:
            raise
    except SystemExit as stop:  # uvicorn logs why it cannot start (an address in use), then exits 1
        if stop.code not in (0, None):
            raise ConfigError(f"could not serve on {host}:{port} (the reason is above)") from None
