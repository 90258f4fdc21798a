"""The JSON the server takes and gives, as pydantic models: they validate requests and document ``/docs``.

Annotations use ``typing`` (``List``, ``Optional``): pydantic evaluates them at runtime, and
``list[str]`` or ``X | Y`` would need Python 3.10.
"""

from __future__ import annotations

from typing import Annotated, Any, Dict, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from tagger.serve.limits import MAX_TEXTS, MAX_TOKEN_CHARS

Token = Annotated[StrictStr, Field(min_length=1, max_length=MAX_TOKEN_CHARS)]


class TagRequest(BaseModel):
    """What to tag: exactly one of ``text``, ``texts`` or ``tokens``, and the output format."""

    model_config = ConfigDict(extra="forbid")

    text: Optional[StrictStr] = Field(None, description="Running text, split into sentences and tokens by the server.")
    texts: Optional[List[StrictStr]] = Field(None, max_length=MAX_TEXTS, description="Several texts, each tagged on its own.")
    tokens: Optional[List[List[Token]]] = Field(
        None, max_length=MAX_TEXTS, description="Pre-tokenised sentences; offsets index the tokens joined by single spaces."
    )
    format: Literal["jsonl", "displacy"] = Field(
        "jsonl",
        description="jsonl: the objects `tagger tag --output jsonl` writes; displacy: "
        '{"text", "ents": [{"start", "end", "label"}]} for spaCy\'s displacy.render(..., manual=True).',
    )

    @model_validator(mode="after")
    def _exactly_one_input(self) -> "TagRequest":
        given = [name for name in ("text", "texts", "tokens") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of text, texts or tokens, got {', '.join(given) or 'none'}")
        return self


class SpanModel(BaseModel):
    """An entity: its label, token range (end exclusive), character range, text and probability."""

    label: str
    start: int
    end: int
    start_char: Optional[int]
    end_char: Optional[int]
    text: str
    score: Optional[float] = None


class SentenceModel(BaseModel):
    """One tagged sentence, as one line of ``tagger tag --output jsonl``."""

    tokens: List[str]
    offsets: Optional[List[List[int]]]
    tags: List[str]
    spans: List[SpanModel]


class SentencesResponse(BaseModel):
    """The answer to ``text`` or ``tokens`` (format jsonl)."""

    sentences: List[SentenceModel]


class TextsResponse(BaseModel):
    """The answer to ``texts`` (format jsonl): the sentences of each text, in order."""

    texts: List[SentencesResponse]


class DisplacyEntity(BaseModel):
    start: int
    end: int
    label: str


class DisplacyDoc(BaseModel):
    """One document for ``displacy.render(doc, style="ent", manual=True)``: one per ``text``, a list for ``texts`` and ``tokens``."""

    text: str
    ents: List[DisplacyEntity]
    title: Optional[str] = None


class ErrorResponse(BaseModel):
    """Every error: a message, or (422) the list of what is wrong with the request."""

    detail: Any


class HealthResponse(BaseModel):
    status: Literal["ok"]
    pending_tokens: int


InfoResponse = Dict[str, Any]
