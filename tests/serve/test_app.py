"""The HTTP API (create_app) through FastAPI's TestClient: every input shape, formats, limits, errors, concurrency."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import tagger
from tagger.results import InputSentence
from tagger.serve import Limits, create_app
from tagger.serve.app import STATIC_DIR
from tagger.tokenize import TokenizedSentence
from tagger.writers import to_jsonl

TEXT = "John Smith lives in Paris. Mary flew to New York with British Airways."


def jsonl_objects(model, inputs):
    """What `tagger tag --output jsonl` writes for these inputs, as objects."""
    return [json.loads(to_jsonl(sentence)) for sentence in model.tag(inputs, scores=True)]


@pytest.fixture(scope="module")
def model(ner_model: Path):
    return tagger.load(ner_model)


def test_a_text_gets_the_jsonl_objects_of_its_sentences(app_client, model):
    response = app_client.post("/tag", json={"text": TEXT})
    assert response.status_code == 200
    sentences = response.json()["sentences"]
    assert sentences == jsonl_objects(model, TEXT)
    assert len(sentences) == 2
    for sentence in sentences:
        for span in sentence["spans"]:
            assert TEXT[span["start_char"] : span["end_char"]] == span["text"]
            assert 0.0 <= span["score"] <= 1.0


def test_texts_get_one_entry_each_with_offsets_into_their_own_text(app_client, model):
    texts = ["John Smith lives in Paris.", "", "Mary flew to New York. Peter Blackburn"]
    response = app_client.post("/tag", json={"texts": texts})
    assert response.status_code == 200
    got = response.json()["texts"]
    assert [entry["sentences"] for entry in got] == [jsonl_objects(model, text) for text in texts]
    assert [len(entry["sentences"]) for entry in got] == [1, 0, 2]


def test_tokens_are_tagged_as_given_with_offsets_into_the_tokens_joined_by_spaces(app_client, model):
    tokens = [["John", "Smith", "lives", "in", "Paris", "."], ["Peter", "Blackburn"], []]
    response = app_client.post("/tag", json={"tokens": tokens})
    assert response.status_code == 200
    sentences = response.json()["sentences"]
    expected = jsonl_objects(model, [InputSentence.from_tokenized(TokenizedSentence.from_tokens(t)) for t in tokens])
    assert sentences == expected
    assert [s["tokens"] for s in sentences] == tokens
    assert sentences[0]["offsets"][4] == [20, 25]
    assert [s["tags"] for s in sentences[:2]] == model.predict(tokens[:2])


def test_displacy_format_for_a_text_is_one_document(app_client, model):
    response = app_client.post("/tag", json={"text": TEXT, "format": "displacy"})
    assert response.status_code == 200
    doc = response.json()
    spans = [span for sentence in model.tag(TEXT) for span in sentence.spans]
    assert doc == {"text": TEXT, "ents": [{"start": s.start_char, "end": s.end_char, "label": s.label} for s in spans], "title": None}
    assert ("John Smith", "PER") in [(TEXT[e["start"] : e["end"]], e["label"]) for e in doc["ents"]]


def test_displacy_format_for_tokens_and_texts_is_a_list_of_documents(app_client):
    response = app_client.post("/tag", json={"tokens": [["John", "Smith", "lives", "in", "Paris"]], "format": "displacy"})
    assert response.json() == [
        {
            "text": "John Smith lives in Paris",
            "ents": [{"start": 0, "end": 10, "label": "PER"}, {"start": 20, "end": 25, "label": "LOC"}],
            "title": None,
        }
    ]
    docs = app_client.post("/tag", json={"texts": ["Peter Blackburn", "rain"], "format": "displacy"}).json()
    assert [doc["text"] for doc in docs] == ["Peter Blackburn", "rain"]
    assert docs[1]["ents"] == []


def test_spacy_displacy_draws_the_displacy_format(app_client):
    displacy = pytest.importorskip("spacy.displacy", reason="the check needs the spacy extra: pip install tagger[spacy]")
    doc = app_client.post("/tag", json={"text": "John Smith lives in Paris.", "format": "displacy"}).json()
    html = displacy.render(doc, style="ent", manual=True, jupyter=False)
    assert "John Smith" in html and "PER" in html and "LOC" in html


def test_a_pos_model_gives_tags_and_no_spans(pos_model):
    with TestClient(create_app(pos_model)) as client:
        sentences = client.post("/tag", json={"text": "the dog ran"}).json()["sentences"]
        info = client.get("/info").json()
    assert sentences[0]["tokens"] == ["the", "dog", "ran"]
    assert sentences[0]["tags"] == ["DET", "NOUN", "VERB"]
    assert sentences[0]["spans"] == []
    assert info["scheme"] == "plain"


def test_health_and_info(app_client, ner_model):
    assert app_client.get("/health").json() == {"status": "ok", "pending_tokens": 0}
    info = app_client.get("/info").json()
    meta = json.loads((ner_model / "meta.json").read_text())
    assert info["labels"] == tagger.load(ner_model).labels
    assert info["scheme"] == "IOB2"
    assert info["scores"] == meta["scores"]
    assert info["engine"] == "numpy"
    assert info["server"]["max_batch_tokens"] == 4096


def test_openapi_documents_the_endpoints(app_client):
    schema = app_client.get("/openapi.json").json()
    assert {"/tag", "/health", "/info"} <= set(schema["paths"])
    assert set(schema["paths"]["/tag"]["post"]["responses"]) >= {"200", "413", "422", "503"}
    assert "TagRequest" in schema["components"]["schemas"]
    docs = app_client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_the_page_and_its_files_are_served_and_load_nothing_from_the_network(app_client):
    page = app_client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name in ("static/app.js", "static/style.css"):
        assert app_client.get(f"/{name}").status_code == 200
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path.name


BAD_BODIES = [
    ({}, "exactly one of text, texts or tokens"),
    ({"text": "a", "tokens": [["a"]]}, "exactly one"),
    ({"text": 5}, "valid string"),
    ({"text": None}, "exactly one"),
    ({"texts": "not a list"}, "valid list"),
    ({"texts": ["ok", 3]}, "valid string"),
    ({"tokens": ["John", "Smith"]}, "valid list"),
    ({"tokens": [["John", ""]]}, "at least 1 character"),
    ({"tokens": [["x" * 1001]]}, "at most 1000 characters"),
    ({"tokens": [[]] * 10_001}, "at most 10000 items"),
    ({"text": "a", "format": "html"}, "'jsonl' or 'displacy'"),
    ({"text": "a", "unknown": 1}, "Extra inputs are not permitted"),
    ([1, 2], "valid dictionary"),
    ("text", "valid dictionary"),
]


@pytest.mark.parametrize("body, message", BAD_BODIES, ids=[str(i) for i in range(len(BAD_BODIES))])
def test_a_wrong_shape_is_422_with_a_json_error(app_client, body, message):
    response = app_client.post("/tag", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert message in json.dumps(response.json()["detail"])
    assert "Traceback" not in response.text


@pytest.mark.parametrize("content", [b"{not json", b"", b'{"text": "unterminated', b"\xff\xfe"])
def test_malformed_json_is_422(app_client, content):
    response = app_client.post("/tag", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"]
    assert "Traceback" not in response.text


@pytest.fixture
def small_client(ner_model):
    app = create_app(ner_model, limits=Limits(max_body_bytes=1000, max_request_tokens=30))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_a_body_over_the_limit_is_413_before_it_is_parsed(small_client):
    response = small_client.post("/tag", content=b"{" * 1001, headers={"content-type": "application/json"})
    assert response.status_code == 413  # not 422: the body was never parsed
    assert response.json() == {"detail": "the request body is larger than the limit of 1000 bytes"}
    assert small_client.post("/tag", content=json.dumps({"text": "Paris " * 200}).encode()).status_code == 413


def test_a_chunked_body_over_the_limit_is_413(small_client):
    def chunks():
        for _ in range(20):
            yield b" " * 100  # no Content-Length: the size is known only as it comes

    response = small_client.post("/tag", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["detail"]


def test_too_many_tokens_is_413_and_within_the_limit_is_fine(small_client):
    response = small_client.post("/tag", json={"text": "Paris is big . " * 10})  # 40 tokens
    assert response.status_code == 413
    assert response.json() == {"detail": "the request holds more than the limit of 30 tokens"}
    assert small_client.post("/tag", json={"tokens": [["Paris"] * 16] * 2}).status_code == 413
    assert small_client.post("/tag", json={"text": "Paris is big . " * 7}).status_code == 200


def test_other_errors_are_json_and_never_a_traceback(app_client):
    assert app_client.get("/nowhere").json() == {"detail": "Not Found"}
    response = app_client.get("/tag")
    assert response.status_code == 405 and response.json() == {"detail": "Method Not Allowed"}


def test_a_failing_request_gets_500_and_the_others_their_results(ner_model):
    model = tagger.load(ner_model)
    original = model.tag

    def tag(sentences, *args, **kwargs):
        if any("Explode" in s.tokens for s in sentences):
            raise RuntimeError("boom")
        return original(sentences, *args, **kwargs)

    model.tag = tag
    with TestClient(create_app(model, max_wait_ms=300), raise_server_exceptions=False) as client:
        with ThreadPoolExecutor(4) as pool:
            bad = pool.submit(client.post, "/tag", json={"text": "Explode here"})
            good = [pool.submit(client.post, "/tag", json={"text": f"John Smith lives in Paris {i} ."}) for i in range(3)]
        assert bad.result().status_code == 500
        assert bad.result().json() == {"detail": "internal error: RuntimeError"}
        assert "Traceback" not in bad.result().text
        for i, future in enumerate(good):
            assert future.result().status_code == 200
            assert future.result().json()["sentences"][0]["tokens"][-2] == str(i)
        assert client.post("/tag", json={"text": "Paris"}).status_code == 200  # the server lives on


def test_concurrent_requests_each_get_their_own_result_in_few_tag_calls(ner_model):
    model = tagger.load(ner_model)
    original, calls = model.tag, []
    lock = threading.Lock()

    def tag(sentences, *args, **kwargs):
        with lock:
            calls.append(len(sentences))
        return original(sentences, *args, **kwargs)

    model.tag = tag
    texts = [f"Person{i} met John Smith in Paris on day {i} ." for i in range(32)]
    with TestClient(create_app(model, max_wait_ms=1000)) as client:
        with ThreadPoolExecutor(32) as pool:
            responses = list(pool.map(lambda text: client.post("/tag", json={"text": text}), texts))
    for text, response in zip(texts, responses):
        assert response.status_code == 200
        (sentence,) = response.json()["sentences"]
        assert sentence == jsonl_objects(tagger.load(ner_model), text)[0]
        assert " ".join(sentence["tokens"]) == text
    assert sum(calls) == 32
    assert len(calls) < 8, f"32 concurrent requests took {len(calls)} tag() calls: {calls}"
    assert max(calls) > 1


def test_a_busy_server_answers_503(ner_model):
    model = tagger.load(ner_model)
    original, gate, started = model.tag, threading.Event(), threading.Event()

    def tag(sentences, *args, **kwargs):
        started.set()
        assert gate.wait(30)
        return original(sentences, *args, **kwargs)

    model.tag = tag
    app = create_app(model, max_wait_ms=0, limits=Limits(max_pending_tokens=10))
    with TestClient(app) as client:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(client.post, "/tag", json={"tokens": [["a"] * 8]})
            assert started.wait(30)
            busy = client.post("/tag", json={"tokens": [["a"] * 5]})
            gate.set()
            assert first.result().status_code == 200
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "1"
    assert "busy" in busy.json()["detail"]


def test_shutting_the_app_down_stops_the_batcher_thread(ner_model):
    app = create_app(ner_model)
    with TestClient(app) as client:
        assert client.post("/tag", json={"text": "Paris"}).status_code == 200
        worker = app.state.batcher._worker
        assert worker.is_alive()
    assert not worker.is_alive()


def test_create_app_refuses_a_bad_model_path(tmp_path):
    from tagger.errors import TaggerError

    with pytest.raises(TaggerError):
        create_app(tmp_path / "missing")
