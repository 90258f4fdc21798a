"""The FastAPI application of ``tagger serve``: ``POST /tag``, ``GET /health``, ``GET /info``, the page at ``/``.

``create_app`` is the library's half of the command: it takes a loaded tagger (or loads one) and
returns an ASGI application that any ASGI server runs (``tagger serve`` runs it with uvicorn).
Every request's sentences go through one :class:`tagger.serve.batcher.MicroBatcher`, so concurrent
requests are tagged together; its worker thread starts with the first request and stops (after
finishing what it holds) when the application shuts down.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Sequence, Tuple, Union

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from tagger.results import InputSentence, TaggedSentence
from tagger.serve.batcher import BatcherClosed, MicroBatcher, QueueFull
from tagger.serve.limits import BodySizeLimit, Limits
from tagger.serve.models import (
    DisplacyDoc,
    ErrorResponse,
    HealthResponse,
    InfoResponse,
    SentencesResponse,
    TagRequest,
    TextsResponse,
)
from tagger.tagging import TaggerBase
from tagger.tokenize import TokenizedSentence, split_text

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""The page's files (``index.html``, ``app.js``, ``style.css``), shipped in the package."""

TAG_BATCH_SIZE = 256
"""Sentences per forward pass inside one micro-batch (the engines' usual batch)."""

_ERRORS: Dict[Union[int, str], Dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": what}
    for code, what in (
        (413, "The body, or the tokens it asks to tag, are over the server's limits."),
        (422, "Malformed JSON, or not one of the shapes this endpoint takes."),
        (503, "Too much is waiting to be tagged: try again shortly."),
    )
}


def create_app(
    tagger_or_path: Union[TaggerBase, str, Path],
    *,
    engine: str = "auto",
    device: str = "auto",
    max_batch_tokens: int = 4096,
    max_wait_ms: float = 5.0,
    limits: Limits = Limits(),
) -> FastAPI:
    """The HTTP application serving a tagger.

    Args:
        tagger_or_path: A loaded tagger (any engine), or a model directory or ``.onnx`` file to load.
        engine: The engine to load a path with (``tagger.load``); unused for a loaded tagger.
        device: The device to load a path on.
        max_batch_tokens: The most tokens tagged in one ``tag()`` call.
        max_wait_ms: How long a request may wait for others to share its batch.
        limits: Bounds on request bodies, tokens per request and tokens waiting.

    Returns:
        A FastAPI application (``app.state.tagger``, ``app.state.batcher``).

    Raises:
        ConfigError, ModelFileError: ``tagger_or_path`` cannot be loaded (see ``tagger.load``).
        ValueError: A batch size or wait that is not positive.
    """
    if isinstance(tagger_or_path, TaggerBase):
        model = tagger_or_path
    else:
        from tagger.engines import load

        model = load(tagger_or_path, engine=engine, device=device)

    def tag_batch(sentences: List[InputSentence]) -> List[TaggedSentence]:
        return model.tag(sentences, TAG_BATCH_SIZE, scores=True)

    batcher: MicroBatcher[InputSentence, TaggedSentence] = MicroBatcher(
        tag_batch,
        lambda sentence: len(sentence.tokens),
        max_batch_tokens=max_batch_tokens,
        max_wait_ms=max_wait_ms,
        max_pending_tokens=limits.max_pending_tokens,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(batcher.close)  # in-flight requests are finished first

    app = FastAPI(
        title="tagger",
        description="Sequence labelling over HTTP: entities (or POS tags) with their probabilities.",
        lifespan=lifespan,
    )
    app.state.tagger = model
    app.state.batcher = batcher
    app.state.limits = limits
    app.add_middleware(BodySizeLimit, max_body_bytes=limits.max_body_bytes)
    app.add_exception_handler(Exception, _internal_error)
    server_info = {"max_batch_tokens": max_batch_tokens, "max_wait_ms": max_wait_ms, **asdict(limits)}

    @app.post("/tag", response_model=None, responses={200: {"model": Union[SentencesResponse, TextsResponse, DisplacyDoc]}, **_ERRORS})
    async def tag(body: TagRequest) -> JSONResponse:
        """Tag a text, several texts or pre-tokenised sentences.

        The answer to `text` and `tokens` is `{"sentences": [...]}`, to `texts` `{"texts": [{"sentences": [...]}, ...]}`,
        each sentence the object `tagger tag --output jsonl` writes (tokens, character offsets, tags,
        spans with their probability as `score`). With `"format": "displacy"`: one displaCy document for
        `text`, a list of them for `texts` (one a text) and `tokens` (one a sentence).
        """
        documents = await run_in_threadpool(_documents, body, limits.max_request_tokens)
        sentences = [sentence for document in documents for sentence in document[1]]
        try:
            future = batcher.submit(sentences)
        except QueueFull as error:
            raise HTTPException(503, f"the server is busy: {error}", headers={"Retry-After": "1"}) from None
        except BatcherClosed:
            raise HTTPException(503, "the server is shutting down") from None
        results: List[TaggedSentence] = await asyncio.wrap_future(future)
        tagged = iter(results)
        return JSONResponse(_answer(body, [(text, [next(tagged) for _ in document]) for text, document in documents]))

    @app.get("/health", response_model=HealthResponse)
    async def health() -> Dict[str, Any]:
        """Whether the server answers, and how many tokens are waiting to be tagged."""
        return {"status": "ok", "pending_tokens": batcher.pending_tokens}

    @app.get("/info", response_model=InfoResponse)
    async def info() -> Dict[str, Any]:
        """The model (configuration, labels, scheme, dev scores from meta.json, engine) and the server's limits."""
        return {**model.info(), "server": server_info}

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


Document = Tuple[str, List[InputSentence]]
"""A text (or a sentence's tokens joined by spaces) and the sentences to tag in it."""


def _documents(body: TagRequest, max_tokens: int) -> List[Document]:
    """The sentences each input holds (tokenised here, off the event loop), or 413 past ``max_tokens``."""
    documents: List[Document] = []
    total = 0

    def count(sentence: InputSentence) -> InputSentence:
        nonlocal total
        total += len(sentence.tokens)
        if total > max_tokens:  # checked as tokenisation goes, so a huge text is not tokenised to the end
            raise HTTPException(413, f"the request holds more than the limit of {max_tokens} tokens")
        return sentence

    if body.tokens is not None:
        for tokens in body.tokens:
            sentence = count(InputSentence.from_tokenized(TokenizedSentence.from_tokens(tokens)))
            documents.append((sentence.text or "", [sentence]))
        return documents
    texts: Sequence[str] = body.texts if body.texts is not None else [body.text or ""]
    for text in texts:
        documents.append((text, [count(InputSentence.from_tokenized(sentence)) for sentence in split_text(text)]))
    return documents


def _answer(body: TagRequest, results: List[Tuple[str, List[TaggedSentence]]]) -> Any:
    """The response's JSON for the request's input shape and format."""
    if body.format == "displacy":
        docs = [_displacy(text, sentences) for text, sentences in results]
        return docs[0] if body.text is not None else docs
    if body.texts is not None:
        return {"texts": [{"sentences": [sentence.to_dict() for sentence in sentences]} for _, sentences in results]}
    return {"sentences": [sentence.to_dict() for _, sentences in results for sentence in sentences]}


def _displacy(text: str, sentences: List[TaggedSentence]) -> Dict[str, Any]:
    """A displaCy ``manual=True`` document: the text and its entities' character offsets."""
    ents = [{"start": span.start_char, "end": span.end_char, "label": span.label} for sentence in sentences for span in sentence.spans]
    return {"text": text, "ents": ents, "title": None}


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    """Any unexpected error: a one-line JSON answer (the traceback goes to the server's log, never to the client)."""
    del request
    return JSONResponse({"detail": f"internal error: {type(error).__name__}"}, status_code=500)
