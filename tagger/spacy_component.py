"""The spaCy pipeline component ``bilstm_tagger``: a tagger model's entities or tags on spaCy's tokens.

Registered through the ``spacy_factories`` entry point (setup.cfg), so
``spacy.blank("en").add_pipe("bilstm_tagger", config={"model": "models/ner"})`` works without
importing ``tagger`` first. spaCy imports every such entry point whenever it makes a pipeline, so
this module imports nothing but spaCy until a component is made.

- Tokens are spaCy's, as given (nothing is tokenised again). Whitespace tokens (``token.is_space``)
  are not shown to the model and are left as they are. A doc with sentence boundaries is tagged a
  sentence at a time, a doc without them as one sequence.
- A model of entities sets ``doc.ents``. Entities already on the doc are kept and predictions that
  overlap them dropped, as spaCy's ``entity_ruler`` does by default; ``overwrite_ents=True``
  replaces them. Each predicted span's probability is in ``span._.tagger_score`` (None when the
  engine gives no scores).
- A model of plain tags sets ``token.pos_`` when all its labels are spaCy POS tags (UPOS), else ``token.tag_``.
- ``nlp.to_disk`` copies the model into the component's directory and ``spacy.load`` reads that
  copy, so a saved pipeline works after the original model is gone. A pickled component (what
  ``nlp.pipe(n_process=...)`` sends to its workers under the spawn start method) holds the model's
  path and the options only: each process loads the model from the path.
"""

from __future__ import annotations

import importlib
import inspect
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

if TYPE_CHECKING:
    from tagger.results import TaggedSentence
    from tagger.tagging import TaggerBase

FACTORY = "bilstm_tagger"
SCORE_EXTENSION = "tagger_score"
"""``span._.tagger_score``: the probability that exactly these tokens carry this label."""
MODEL_DIR = "model"  # the model's copy inside the component's directory (nlp.to_disk)
ONNX_FILE = "model.onnx"  # the same for a model given as an .onnx file

_OPTIONS = ("model", "engine", "device", "batch_size", "overwrite_ents")


class BiLSTMTaggerComponent:
    """A pipeline component that tags spaCy docs with a tagger model (``nlp.add_pipe("bilstm_tagger")``).

    Args:
        name: The component's name in the pipeline.
        model: A model directory (``tagger train``) or an ``.onnx`` file (``tagger export``).
        engine: auto | torch | numpy | onnx (``tagger.load``).
        device: auto | cpu | cuda | cuda:N.
        batch_size: Sentences per forward pass.
        overwrite_ents: Replace the doc's entities instead of keeping them (entity models).

    The model is loaded, and checked, when the component is made; when ``model`` does not exist
    (a pipeline read by ``spacy.load`` whose original model is gone) loading waits until a doc
    needs it, so that ``from_disk`` can give the saved copy first.
    """

    def __init__(
        self,
        name: str,
        model: str,
        engine: str = "auto",
        device: str = "auto",
        batch_size: int = 256,
        overwrite_ents: bool = False,
    ):
        if batch_size < 1:
            from tagger.errors import ConfigError

            raise ConfigError(f"{FACTORY}: batch_size must be >= 1, got {batch_size}")
        self.name = name
        self.model = str(model)
        self.engine = engine
        self.device = device
        self.batch_size = batch_size
        self.overwrite_ents = overwrite_ents
        self._tagger: Optional[TaggerBase] = None
        self.spans = self.scores = False  # what the model predicts and the engine gives, set once it loads
        self.attribute = "tag_"
        if not Span.has_extension(SCORE_EXTENSION):
            Span.set_extension(SCORE_EXTENSION, default=None)
        if Path(self.model).exists():
            self._loaded()

    # ----------------------------------------------------------------- the model

    def _loaded(self) -> "TaggerBase":
        """The tagger, loaded from ``self.model`` on first use (``tagger.load`` checks the files)."""
        if self._tagger is None:
            from tagger.engines import load

            tagger = load(self.model, engine=self.engine, device=self.device)
            self.spans = tagger.scheme != "plain"
            self.attribute = "pos_" if set(tagger.labels) <= _pos_tags() else "tag_"
            # Span scores come from iter_tag(..., scores=True) where the engine offers it.
            self.scores = self.spans and "scores" in inspect.signature(tagger.iter_tag).parameters
            self._tagger = tagger
        return self._tagger

    @property
    def labels(self) -> Tuple[str, ...]:
        """The labels the model predicts (entity tags with their prefixes, or plain tags); () until it is loaded.

        spaCy reads this while it makes a pipeline (for its meta), before ``from_disk`` gives the model.
        """
        return () if self._tagger is None else tuple(self._tagger.labels)

    # ----------------------------------------------------------------- tagging

    def __call__(self, doc: Doc) -> Doc:
        """Tags one doc in place and returns it."""
        self._annotate([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Tags a stream of docs, ``batch_size`` docs at a time (their sentences batched together)."""
        for docs in minibatch(stream, size=batch_size):
            self._annotate(docs)
            yield from docs

    def _annotate(self, docs: Sequence[Doc]) -> None:
        self._loaded()  # sets spans, attribute and scores
        pieces = [(k, indices) for k, doc in enumerate(docs) for indices in _sequences(doc)]
        sentences = self._tag([[docs[k][i].text for i in indices] for k, indices in pieces])
        found: List[List[Span]] = [[] for _ in docs]
        for (k, indices), sentence in zip(pieces, sentences):
            doc = docs[k]
            if not self.spans:
                for i, tag in zip(indices, sentence.tags):
                    setattr(doc[i], self.attribute, tag)
                continue
            for tagged in sentence.spans:
                span = Span(doc, indices[tagged.start], indices[tagged.end - 1] + 1, label=tagged.label)
                span._.set(SCORE_EXTENSION, tagged.score)
                found[k].append(span)
        if self.spans:
            for doc, spans in zip(docs, found):
                self._set_ents(doc, spans)

    def _tag(self, token_lists: List[List[str]]) -> Iterator["TaggedSentence"]:
        from tagger.results import InputSentence

        tagger = self._loaded()
        inputs = [InputSentence.from_tokens(tokens) for tokens in token_lists]
        if self.scores:
            return tagger.iter_tag(inputs, self.batch_size, scores=True)
        return tagger.iter_tag(inputs, self.batch_size)

    def _set_ents(self, doc: Doc, spans: List[Span]) -> None:
        """``doc.ents``: the predicted spans, with the doc's own entities kept first unless ``overwrite_ents``."""
        kept = [] if self.overwrite_ents else list(doc.ents)
        taken = {i for span in kept for i in range(span.start, span.end)}
        new = [span for span in spans if taken.isdisjoint(range(span.start, span.end))]
        doc.set_ents(sorted(kept + new, key=lambda span: span.start), default="outside")

    # ----------------------------------------------------------------- serialisation

    def to_disk(self, path: Any, exclude: Iterable[str] = ()) -> None:
        """Copies the model into ``path`` (the component's directory in the pipeline's).

        Raises:
            ModelFileError: The model is no longer where it was loaded from.
        """
        from tagger.errors import ModelFileError
        from tagger.serialization import CONTEXTUAL_FILE, META_FILE, REQUIRED_FILES

        source, out = Path(self.model), Path(path)
        out.mkdir(parents=True, exist_ok=True)
        target = out / (ONNX_FILE if source.is_file() else MODEL_DIR)
        if target.exists() and target.resolve() == source.resolve():  # saved over the pipeline it was read from
            return
        if source.is_file():
            shutil.copyfile(source, target)
            return
        if not source.is_dir():
            raise ModelFileError(f"{FACTORY} cannot save its model: it is no longer there", source)
        target.mkdir(exist_ok=True)
        for name in (*REQUIRED_FILES, META_FILE, CONTEXTUAL_FILE):
            if (source / name).is_file():
                shutil.copyfile(source / name, target / name)

    def from_disk(self, path: Any, exclude: Iterable[str] = ()) -> "BiLSTMTaggerComponent":
        """Loads the model that ``to_disk`` saved in ``path`` (checked as ``tagger.load`` checks it)."""
        onnx = Path(path) / ONNX_FILE
        self.model = str(onnx if onnx.is_file() else Path(path) / MODEL_DIR)
        self._tagger = None
        self._loaded()
        return self

    def __getstate__(self) -> Dict[str, Any]:
        """The model's path and the options: the model itself is loaded again from the path."""
        return {option: getattr(self, option) for option in ("name", *_OPTIONS)}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        """Restores the options; the model loads when a doc first needs it (in the process that tags)."""
        self.__dict__.update(state)
        self._tagger = None
        self.spans = self.scores = False
        self.attribute = "tag_"
        if not Span.has_extension(SCORE_EXTENSION):
            Span.set_extension(SCORE_EXTENSION, default=None)


def _pos_tags() -> Set[str]:
    """The coarse part-of-speech tags ``token.pos_`` accepts: the UPOS tags and spaCy's few own (SPACE, EOL)."""
    ids = importlib.import_module("spacy.parts_of_speech").IDS  # a compiled module, without type stubs
    return {tag for tag in ids if tag}


def _sequences(doc: Doc) -> Iterator[List[int]]:
    """Token indices of each sequence to tag: the doc's sentences (or the whole doc), without whitespace tokens."""
    parts: Iterable[Span] = doc.sents if doc.has_annotation("SENT_START") else [doc[:]]
    for part in parts:
        indices = [token.i for token in part if not token.is_space]
        if indices:
            yield indices


@Language.factory(
    FACTORY,
    default_config={"engine": "auto", "device": "auto", "batch_size": 256, "overwrite_ents": False},
    assigns=["doc.ents", "token.ent_iob", "token.ent_type", "token.pos", "token.tag"],
)
def make_bilstm_tagger(
    nlp: Language,
    name: str,
    model: str,
    engine: str,
    device: str,
    batch_size: int,
    overwrite_ents: bool,
) -> BiLSTMTaggerComponent:
    """Makes the ``bilstm_tagger`` component (spaCy calls this for ``nlp.add_pipe("bilstm_tagger", config=...)``).

    Args:
        nlp: The pipeline.
        name: The component's name.
        model: A model directory or an ``.onnx`` file (required).
        engine: auto | torch | numpy | onnx.
        device: auto | cpu | cuda | cuda:N.
        batch_size: Sentences per forward pass.
        overwrite_ents: Replace the doc's entities instead of keeping them.
    """
    return BiLSTMTaggerComponent(name, model, engine, device, batch_size, overwrite_ents)
