"""The torch-free half of tagging, shared by the torch ``Tagger`` and the NumPy ``NumpyTagger``.

Encoding sentences (word forms, their characters and casing), converting predicted label ids
back to the corpus's scheme, and the prediction interface (``tag``, ``iter_tag``, ``predict``,
``iter_predict``, ``predict_spans``, ``predict_proba``, ``predict_nbest``) over length-sorted chunks.
Confidence (marginals, span probabilities, n best paths) is computed by ``tagger.confidence`` from
each engine's ``emissions()`` and ``transition_scores()``, so every engine gives the same figures
(up to its float32 emissions). Nothing here imports torch, so a
NumPy-only tagger can be loaded and run without it. Nothing here changes process state either: the
glibc allocator setting that speeds up CPU tagging is the caller's choice
(``tagger.allocator.keep_freed_memory``, which the CLI calls).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import chain, islice, tee
from typing import Any, Dict, Iterable, Iterator, List, Literal, NamedTuple, Optional, Sequence, Tuple, Union, overload

import numpy as np

from tagger.confidence import OutputMap, Path, lattices, nbest, span_probabilities
from tagger.config import TaggerConfig, TrainConfig
from tagger.decoding import best_paths
from tagger.results import ScoredPath, ScoredSpan, TaggedSentence, TagInput, input_sentences
from tagger.schemes import Span, convert_tags, spans_from_tags
from tagger.serialization import ModelFiles
from tagger.vocab import UNK_ID, Vocab, WordVocab


def case_class(word: str) -> int:
    """The casing class of ``word`` as an index into ``CASE_CLASSES`` (0, padding, for the empty form)."""
    if not word:
        return 0
    digits = sum(c.isdigit() for c in word)
    if word.isdigit():
        return 2
    if digits / max(len(word), 1) > 0.5:
        return 3
    if word.islower():
        return 4
    if word.isupper():
        return 5
    if word[:1].isupper():
        return 6
    if digits:
        return 7
    return 1


class CharIndex:
    """Character ids for whole arrays of code points at once (a dense table for the Basic
    Multilingual Plane, a dict beyond it), so encoding forms costs no Python per character.
    """

    def __init__(self, char_vocab: Vocab):
        self.vocab = char_vocab
        self.table = np.full(0x10000, UNK_ID, dtype=np.int64)
        self.astral: Dict[int, int] = {}
        for char, char_id in char_vocab.ids.items():
            if len(char) != 1:  # the reserved "<pad>" and "<unk>" entries
                continue
            if ord(char) < 0x10000:
                self.table[ord(char)] = char_id
            else:
                self.astral[ord(char)] = char_id

    def encode(self, text: str) -> np.ndarray:
        """Character ids of ``text``, shape (len(text),)."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        bmp = codes < 0x10000
        ids = self.table[np.where(bmp, codes, 0)]
        if not bmp.all():
            ids[~bmp] = [self.astral.get(int(c), UNK_ID) for c in codes[~bmp]]
        return ids


class FormTable:
    """The distinct word forms of some sentences, each with its character ids and casing class.

    The character encoder runs once per distinct form rather than once per token. Form 0 is
    the empty form that padding positions point to.
    """

    def __init__(self, char_vocab: Vocab, max_word_length: int = 64, char_index: Optional[CharIndex] = None):
        self.char_index = char_index or CharIndex(char_vocab)
        self.max_word_length = max_word_length
        self.ids: Dict[str, int] = {"": 0}
        self.forms: List[str] = [""]
        self._arrays: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None

    def __len__(self) -> int:
        return len(self.forms)

    def encode(self, tokens: Sequence[str]) -> List[int]:
        """Form ids of ``tokens``, adding the forms not seen before."""
        ids = self.ids
        out = []
        for token in tokens:
            form_id = ids.get(token)
            if form_id is None:
                form_id = ids[token] = len(self.forms)
                self.forms.append(token)
                self._arrays = None
            out.append(form_id)
        return out

    def _clipped(self, form: str) -> str:
        # Long tokens (URLs) keep their first and last characters, which carry the most signal.
        half = self.max_word_length // 2
        return form if len(form) <= self.max_word_length else form[:half] + form[-half:]

    def arrays(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(chars (F, L) int64, lengths (F,) int64, case (F,) int64) over every form so far."""
        if self._arrays is None:
            clipped = [self._clipped(form) for form in self.forms]
            lengths = np.fromiter((len(form) for form in clipped), dtype=np.int64, count=len(clipped))
            char_ids = self.char_index.encode("".join(clipped))  # shape: (total characters,)
            rows = np.repeat(np.arange(len(clipped)), lengths)
            starts = np.cumsum(lengths) - lengths
            cols = np.arange(len(char_ids)) - np.repeat(starts, lengths)
            chars = np.zeros((len(clipped), max(1, int(lengths.max()))), dtype=np.int64)
            chars[rows, cols] = char_ids
            case = np.fromiter((case_class(form) for form in self.forms), dtype=np.int64, count=len(self.forms))
            case[0] = 0
            self._arrays = (chars, lengths, case)
        return self._arrays


@dataclass
class EncodedSentence:
    """One sentence as ids: words (with fallback to <unk>), forms (into a FormTable) and tags."""

    words: np.ndarray  # shape: (length,)
    forms: np.ndarray  # shape: (length,)
    tags: Optional[np.ndarray] = None  # shape: (length,)

    def __len__(self) -> int:
        return len(self.words)


def encode_sentence(
    tokens: Sequence[str], word_vocab: WordVocab, forms: FormTable, tags: Optional[Sequence[int]] = None
) -> EncodedSentence:
    return EncodedSentence(
        np.asarray(word_vocab.encode(tokens), dtype=np.int64),
        np.asarray(forms.encode(tokens), dtype=np.int64),
        None if tags is None else np.asarray(tags, dtype=np.int64),
    )


class ChunkBatch(NamedTuple):
    """One batch of a ``TokenChunk``: which sentences, their lengths (longest first) and form ids."""

    indices: List[int]  # the sentences' positions in the chunk
    lengths: np.ndarray  # shape: (batch,), int64, non-increasing
    forms: np.ndarray  # shape: (batch, steps), int64 form ids, 0 at padding
    mask: np.ndarray  # shape: (batch, steps), bool, True at real tokens


class TokenChunk:
    """The tokens of a chunk of sentences as flat arrays, with batches gathered by NumPy indexing.

    Every token is looked up once, as a form (one dict lookup); the word vocabulary is consulted
    once per distinct form (``word_ids``), not per token, and batches are padded by indexing
    rather than by a Python loop over sentences. All engines batch their input this way.
    """

    def __init__(self, sentences: Sequence[Sequence[str]], forms: FormTable):
        self.forms = forms
        self.lengths = np.fromiter((len(tokens) for tokens in sentences), dtype=np.int64, count=len(sentences))
        self.flat = np.asarray(forms.encode(list(chain.from_iterable(sentences))), dtype=np.int64)  # shape: (tokens,)
        self.starts = np.cumsum(self.lengths) - self.lengths  # shape: (sentences,)

    def word_ids(self, word_vocab: WordVocab) -> np.ndarray:
        """Each form's word id, shape (num_forms,): a token's word id is its form's."""
        return np.asarray(word_vocab.encode(self.forms.forms), dtype=np.int64)

    def batches(self, batch_size: int) -> Iterator[ChunkBatch]:
        """The non-empty sentences in batches of similar length (``sorted_batches``), longest first."""
        for indices in sorted_batches(self.lengths.tolist(), batch_size):
            lengths = self.lengths[indices]
            positions = np.arange(int(lengths[0]))[None, :]
            mask = positions < lengths[:, None]  # shape: (batch, steps)
            forms = np.where(mask, self.flat[np.where(mask, self.starts[indices][:, None] + positions, 0)], 0)
            yield ChunkBatch(indices, lengths, forms, mask)


def sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[List[int]]:
    """Indices of the non-empty sentences in batches of similar length, each batch longest first.

    Sentences are sorted by length (stably) before they are cut into batches, so padding stays small.
    """
    order = sorted((i for i in range(len(lengths)) if lengths[i]), key=lambda i: lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size][::-1]


# Label-by-label maps that are exact for valid sequences: no context is needed to convert them.
_PREFIX_MAPS = {("IOBES", "IOB2"): {"B": "B", "I": "I", "E": "I", "S": "B"}, ("BILOU", "IOB2"): {"B": "B", "I": "I", "L": "I", "U": "B"}}


def label_map(labels: Sequence[str], source: str, target: str) -> Optional[List[str]]:
    """Per-label conversion from ``source`` to ``target`` when one exists, else None."""
    if source == target:
        return list(labels)
    prefixes = _PREFIX_MAPS.get((source, target))
    if prefixes is None:
        return None
    return [label if label == "O" else f"{prefixes[label[0]]}{label[1:]}" for label in labels]


class Vocabularies(NamedTuple):
    """The string <-> id maps of a tagger."""

    words: WordVocab  # word ids, with the lowercase and digit fallbacks
    chars: Vocab  # character ids
    labels: Vocab  # the labels the network predicts, in its training scheme
    output_labels: List[str]  # the corpus's labels, in the order of its ClassLabel feature

    @classmethod
    def from_files(cls, files: ModelFiles) -> "Vocabularies":
        """The vocabularies stored in a model directory (``vocab.json``)."""
        vocab = files.vocab
        words = WordVocab(vocab["words"], lowercase=files.config.lowercase_words)
        return cls(words, Vocab(vocab["chars"]), Vocab(vocab["labels"], reserved=False), list(vocab["output_labels"]))


INFO_META_KEYS = ("scores", "tagger_version", "created", "corpus", "embeddings", "training_time_s", "best_epoch")
"""The entries of ``meta.json`` that ``info()`` shows."""


class TaggerBase:
    """What every tagging engine shares: the vocabularies, the conversion of predicted ids to the
    corpus's labels, and the prediction interface over chunks of sentences.

    Subclasses provide ``config`` (ready before this constructor runs) and implement ``_predict_chunk``.

    Args:
        vocabularies: Words, characters and labels.
        train_config: How it was trained (kept for the record).
        meta: Training scores, corpus and version information.
    """

    def __init__(self, vocabularies: Vocabularies, train_config: Optional[TrainConfig] = None, meta: Optional[Dict[str, Any]] = None):
        self.word_vocab, self.char_vocab, self.label_vocab, output_labels = vocabularies
        self.output_labels = list(output_labels)
        self.train_config = train_config or TrainConfig()
        self.meta = dict(meta or {})
        self._char_index = CharIndex(self.char_vocab)
        # A CRF's paths are valid, so labels convert one by one; softmax output is converted in context.
        labels = self.label_vocab.items
        self._label_map = label_map(labels, self.config.training_scheme, self.config.output_scheme) if self.config.crf else None

    @property
    def config(self) -> TaggerConfig:
        """The architecture: sizes, cell, char encoder, schemes, CRF or softmax."""
        raise NotImplementedError

    @property
    def labels(self) -> List[str]:
        """The labels predictions use (the corpus's labels, in its scheme)."""
        return list(self.output_labels)

    @property
    def scheme(self) -> str:
        """The tag scheme of the predictions (the corpus's scheme)."""
        return self.config.output_scheme

    ENGINE = ""
    """What computes the network: numpy, torch or onnx (``info()["engine"]``); each engine sets it."""

    def info(self) -> Dict[str, object]:
        """What ``tagger info`` prints: configuration, labels, size, training scores and the engine."""
        from tagger.shapes import parameter_count

        return {
            "model": self.config.to_dict(),
            "training": self.train_config.to_dict(),
            "labels": self.labels,
            "scheme": self.scheme,
            "parameters": parameter_count(self.config),
            "words": len(self.word_vocab),
            "chars": len(self.char_vocab),
            **{key: value for key, value in self.meta.items() if key in INFO_META_KEYS},
            "engine": self.ENGINE,
        }

    def _to_output(self, ids: Sequence[int]) -> List[str]:
        """Predicted label ids (training scheme) as the corpus's labels."""
        if self._label_map is not None:
            label_map = self._label_map
            return [label_map[i] for i in ids]
        tags = self.label_vocab.decode(ids)
        return convert_tags(tags, self.config.training_scheme, self.config.output_scheme)

    def _predict_chunk(self, sentences: Sequence[Sequence[str]], batch_size: int) -> List[List[str]]:
        """Tags of a chunk of sentences (lists of tokens), in input order."""
        raise NotImplementedError

    def emissions(self, sentences: Sequence[Sequence[str]], batch_size: int = 256) -> List[np.ndarray]:
        """The network's tag scores per sentence, float32 of shape (length, num_tags) each, in input order.

        Columns follow ``label_vocab`` (the training scheme's labels). With ``transition_scores`` they
        are everything a decoder needs: Viterbi, marginals and n-best paths are computed from them.
        """
        raise NotImplementedError

    def transition_scores(self) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The CRF's (start (T,), transitions (T, T), end (T,)) scores as float32, forbidden moves at
        ``tagger.crf.FORBIDDEN_SCORE``; None for a softmax model.
        """
        raise NotImplementedError

    def iter_predict(
        self, sentences: Iterable[Sequence[str]], batch_size: int = 256, chunk_size: Optional[int] = None
    ) -> Iterator[List[str]]:
        """Tags a stream of sentences lazily, in input order, in memory bounded by ``chunk_size``.

        Sentences within a chunk are sorted by length before batching, so padding stays small.
        """
        for chunk in _chunks(sentences, batch_size, chunk_size):
            yield from self._predict_chunk(chunk, batch_size)

    def tag(
        self,
        inputs: Union[str, Iterable[TagInput]],
        batch_size: int = 256,
        *,
        scores: bool = False,
        probs: bool = False,
        nbest: int = 0,
    ) -> List[TaggedSentence]:
        """Tags texts or tokenised sentences; returns one ``TaggedSentence`` per sentence, in order.

        Args:
            inputs: A text (split into sentences and tokens by ``tagger.tokenize``, with character
                offsets into it), or a list of texts, of tokenised sentences (lists of strings: no
                offsets) or of ``tagger.results.InputSentence``. A flat list of strings is a list of texts.
            batch_size: Sentences per forward pass.
            scores: Give each span its probability (``TaggedSpan.score``; see ``predict_spans``).
            probs: Give each token the probability of each label (``TaggedSentence.probs``, columns
                in ``TaggedSentence.labels`` order; see ``predict_proba``).
            nbest: Give each sentence its ``nbest`` best paths (``TaggedSentence.nbest``; see ``predict_nbest``).

        Returns:
            The sentences with their tokens, offsets, tags (in ``scheme``) and entity spans.

        Example:
            >>> [(s.label, s.text) for s in tagger.tag("John Smith lives in Berlin.")[0].spans]
            [('PER', 'John Smith'), ('LOC', 'Berlin')]
        """
        return list(self.iter_tag(inputs, batch_size, scores=scores, probs=probs, nbest=nbest))

    def iter_tag(
        self,
        inputs: Union[str, Iterable[TagInput]],
        batch_size: int = 256,
        chunk_size: Optional[int] = None,
        *,
        scores: bool = False,
        probs: bool = False,
        nbest: int = 0,
    ) -> Iterator[TaggedSentence]:
        """``tag`` as a stream: results come a chunk at a time, in input order, in memory bounded by ``chunk_size``.

        With ``scores``, ``probs`` or ``nbest``, the tags are the first of the n best paths, which is
        the same Viterbi path as ``predict``'s (see ``predict_nbest``).
        """
        to_tag, to_return = tee(input_sentences(inputs))  # tee holds at most the chunk iter_predict reads ahead
        tokens = (sentence.tokens for sentence in to_tag)
        scheme = self.scheme
        if not (scores or probs or nbest):
            for tags, sentence in zip(self.iter_predict(tokens, batch_size, chunk_size), to_return):
                yield sentence.tagged(tags, scheme)
            return
        labels = self.labels if probs else None
        decoded = self._iter_decoded(tokens, batch_size, chunk_size, spans=scores, probs=probs, k=max(nbest, 1))
        for result, sentence in zip(decoded, to_return):
            yield sentence.tagged(
                result.tags,
                scheme,
                None if result.probs is None else result.probs.tolist(),
                labels=labels,
                span_scores=result.span_scores,
                nbest=result.paths if nbest else None,
            )

    def predict(self, sentences: Iterable[Sequence[str]], batch_size: int = 256) -> List[List[str]]:
        """Tags pre-tokenised sentences; returns one tag list per sentence, in the corpus's scheme.

        Example:
            >>> tagger.predict([["John", "lives", "in", "Paris", "."]])
            [['B-PER', 'O', 'O', 'B-LOC', 'O']]
        """
        _check_tokenised(sentences, "predict")
        return list(self.iter_predict(sentences, batch_size))

    @overload
    def predict_spans(
        self, sentences: Iterable[Sequence[str]], batch_size: int = ..., *, scores: Literal[False] = ...
    ) -> List[List[Span]]: ...

    @overload
    def predict_spans(
        self, sentences: Iterable[Sequence[str]], batch_size: int = ..., *, scores: Literal[True]
    ) -> List[List[ScoredSpan]]: ...

    @overload
    def predict_spans(self, sentences: Iterable[Sequence[str]], batch_size: int = ..., *, scores: bool) -> List[List[Span]]: ...

    def predict_spans(
        self, sentences: Iterable[Sequence[str]], batch_size: int = 256, *, scores: bool = False
    ) -> Union[List[List[Span]], List[List[ScoredSpan]]]:
        """Entity spans (label, start, end token offsets; end exclusive) per sentence.

        With ``scores``, each is a ``ScoredSpan`` whose ``score`` is the probability that exactly its
        tokens carry exactly its label: that the path's tags over the span are the predicted ones and
        that the entity extends neither way, summed over all paths from the CRF's forward and
        backward scores (``tagger.confidence.span_probabilities`` says how). A softmax model's
        tokens are independent: the product of the span's tag probabilities and of its neighbours'
        probabilities of not continuing it. Computed in the training scheme (e.g. IOBES), whose
        spans are the output spans.

        Example:
            >>> tagger.predict_spans([["John", "lives", "in", "Paris", "."]], scores=True)[0][0]
            ScoredSpan(label='PER', start=0, end=1, score=0.98...)
        """
        if self.scheme == "plain":
            raise ValueError("this model predicts plain tags (e.g. POS), which have no spans; use predict()")
        _check_tokenised(sentences, "predict_spans")
        if not scores:
            return [spans_from_tags(tags, self.scheme) for tags in self.predict(sentences, batch_size)]
        return [
            [
                ScoredSpan(span.label, span.start, span.end, result.span_scores.get(span))
                for span in spans_from_tags(result.tags, self.scheme)
            ]
            for result in self._iter_decoded(sentences, batch_size, None, spans=True)
        ]

    def predict_proba(self, sentences: Iterable[Sequence[str]], batch_size: int = 256) -> List[np.ndarray]:
        """Per sentence, the probability of each of ``labels`` at each token: float64 (length, len(labels)).

        CRF models: forward-backward marginals; softmax models: each token's softmax. The columns
        are the output labels (``labels``, the corpus's scheme) while the network's are the training
        scheme's (e.g. IOBES): a column is the total probability of the paths that ``predict``
        would write with that label at that token. On the paths a constrained CRF allows, that is
        the sum of the training columns mapping to the label (IOBES ``B-PER`` + ``S-PER`` = IOB2
        ``B-PER``); exactly, for any path, it needs only pairs of neighbouring tags
        (``tagger.confidence.OutputMap``). Rows sum to 1, less the probability of any tag the model
        can write that is not among ``labels`` (a corpus whose label list lacks a tag it never used).
        """
        _check_tokenised(sentences, "predict_proba")
        probabilities = []
        for result in self._iter_decoded(sentences, batch_size, None, probs=True):
            assert result.probs is not None  # asked for
            probabilities.append(result.probs)
        return probabilities

    def predict_nbest(self, sentences: Iterable[Sequence[str]], k: int, batch_size: int = 256) -> List[List[ScoredPath]]:
        """Per sentence, its ``k`` best tag paths (fewer when fewer are allowed), best first.

        Each is a ``ScoredPath``: tags (output scheme), the unnormalised path score and its
        probability ``exp(score - logZ)``. The search (``tagger.confidence.nbest``, a k-best Viterbi)
        respects the scheme's constraints and makes the additions Viterbi makes, so the first path
        is ``predict``'s. A softmax model's paths are read in context, as ``predict`` reads them, so
        two of its paths can give the same tags (IOBES ``S-PER`` and a lone ``B-PER`` both read as
        IOB2 ``B-PER``); both are listed, with the probability of each.

        Raises:
            ValueError: ``k`` is not between 1 and ``tagger.confidence.MAX_NBEST``.
        """
        _check_tokenised(sentences, "predict_nbest")
        from tagger.confidence import MAX_NBEST

        if not 1 <= k <= MAX_NBEST:
            raise ValueError(f"k must be between 1 and {MAX_NBEST}, got {k}")
        return [result.paths for result in self._iter_decoded(sentences, batch_size, None, k=k)]

    # -- confidence ---------------------------------------------------------------------------

    @cached_property
    def _output_map(self) -> OutputMap:
        """How training-scheme marginals become probabilities of ``labels`` (built on first use)."""
        return OutputMap(self.label_vocab.items, self.config.training_scheme, self.output_labels, self.config.output_scheme)

    def _iter_decoded(
        self,
        sentences: Iterable[Sequence[str]],
        batch_size: int,
        chunk_size: Optional[int],
        *,
        spans: bool = False,
        probs: bool = False,
        k: int = 1,
    ) -> Iterator["_Decoded"]:
        """Tags, span scores, label probabilities and the k best paths of each sentence, from the emissions."""
        scores = self.transition_scores()
        labels, scheme = self.label_vocab.items, self.config.training_scheme
        spans = spans and self.scheme != "plain"
        for chunk in _chunks(sentences, batch_size, chunk_size):
            chunk_emissions = self.emissions(chunk, batch_size)
            # The whole chunk's forward-backward and (for one path) Viterbi at once: a pass over
            # positions per block of sentences, not per sentence.
            best = best_paths(chunk_emissions, scores) if k == 1 else None
            for i, (emissions, lattice) in enumerate(zip(chunk_emissions, lattices(chunk_emissions, scores))):
                if best is not None:
                    ids = best[i].tolist()
                    score = lattice.path_score(ids)
                    paths = [Path(tuple(ids), score, float(np.exp(score - lattice.log_z)))]
                else:
                    paths = nbest(emissions, scores, k, lattice)
                ids = list(paths[0].ids)
                yield _Decoded(
                    self._to_output(ids),
                    span_probabilities(emissions, scores, ids, labels, scheme, lattice) if spans else {},
                    self._output_map.probabilities(lattice) if probs else None,
                    [ScoredPath(tuple(self._to_output(list(path.ids))), path.score, path.probability) for path in paths],
                )


class _Decoded(NamedTuple):
    """One sentence as ``TaggerBase._iter_decoded`` gives it."""

    tags: List[str]  # the best path, output scheme
    span_scores: Dict[Span, float]  # the probability of each of its spans (empty unless asked for)
    probs: Optional[np.ndarray]  # shape: (length, len(labels)); None unless asked for
    paths: List[ScoredPath]  # the k best, best first


def _chunks(sentences: Iterable[Sequence[str]], batch_size: int, chunk_size: Optional[int]) -> Iterator[List[List[str]]]:
    """The sentences in lists of ``chunk_size`` (default: 16 batches, at least 1024 sentences)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    chunk_size = chunk_size or max(batch_size * 16, 1024)
    iterator = iter(sentences)
    while True:
        chunk = [list(tokens) for tokens in islice(iterator, chunk_size)]
        if not chunk:
            return
        yield chunk


def _check_tokenised(sentences: Iterable[Sequence[str]], name: str) -> None:
    if isinstance(sentences, (str, bytes)) or (isinstance(sentences, Sequence) and sentences and isinstance(sentences[0], str)):
        raise TypeError(f"{name} takes a list of tokenised sentences (a list of lists of strings)")
