"""Turns tokenised sentences into padded tensors: word ids, per-form character ids, masks and lengths,
and groups sentences of similar length into batches."""
from __future__ import annotations

import random
from dataclasses import dataclass, fields
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch

from tagger.vocab import UNK_ID, Vocab, WordVocab

# Word-shape (casing) classes, after Reimers & Gurevych (2017); 0 is padding.
CASE_CLASSES = ("<pad>", "other", "numeric", "mainly_numeric", "lower", "upper", "initial_upper", "contains_digit")


def case_class(word: str) -> int:
    """The casing class of ``word`` as an index into ``CASE_CLASSES``."""
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


class FormTable:
    """The distinct word forms of some sentences, each with its character ids and casing class.

    The character encoder runs once per distinct form in a batch rather than once per token.
    Form 0 is the empty form that padding positions point to.
    """

    def __init__(self, char_vocab: Vocab, max_word_length: int = 64):
        self.char_vocab = char_vocab
        self.max_word_length = max_word_length
        self.ids: Dict[str, int] = {"": 0}
        self._chars: List[List[int]] = [[]]
        self._case: List[int] = [0]
        self._arrays: Optional[tuple] = None

    def __len__(self) -> int:
        return len(self._chars)

    def encode(self, tokens: Sequence[str]) -> List[int]:
        """Form ids of ``tokens``, adding the forms not seen before."""
        ids = self.ids
        out = []
        for token in tokens:
            form_id = ids.get(token)
            if form_id is None:
                form_id = ids[token] = len(self._chars)
                # Long tokens (URLs) keep their first and last characters, which carry the most signal.
                chars = token if len(token) <= self.max_word_length else token[: self.max_word_length // 2] + token[-self.max_word_length // 2 :]
                self._chars.append(self.char_vocab.encode(chars))
                self._case.append(case_class(token))
                self._arrays = None
            out.append(form_id)
        return out

    def arrays(self) -> tuple:
        """(chars (F, L) int64, lengths (F,) int64, case (F,) int64) over every form so far."""
        if self._arrays is None:
            lengths = np.fromiter((len(c) for c in self._chars), dtype=np.int64, count=len(self._chars))
            chars = np.zeros((len(self._chars), max(1, int(lengths.max()))), dtype=np.int64)
            for i, ids in enumerate(self._chars):
                chars[i, : len(ids)] = ids
            self._arrays = (chars, lengths, np.asarray(self._case, dtype=np.int64))
        return self._arrays


@dataclass
class EncodedSentence:
    """One sentence as ids: words (with fallback to <unk>), forms (into a FormTable) and tags."""

    words: np.ndarray  # shape: (length,)
    forms: np.ndarray  # shape: (length,)
    tags: Optional[np.ndarray] = None  # shape: (length,)

    def __len__(self) -> int:
        return len(self.words)


def encode_sentence(tokens: Sequence[str], word_vocab: WordVocab, forms: FormTable, tags: Optional[Sequence[int]] = None) -> EncodedSentence:
    return EncodedSentence(
        np.asarray(word_vocab.encode(tokens), dtype=np.int64),
        np.asarray(forms.encode(tokens), dtype=np.int64),
        None if tags is None else np.asarray(tags, dtype=np.int64),
    )


@dataclass
class Batch:
    """Padded tensors for a batch of sentences (batch-first)."""

    words: torch.Tensor  # shape: (batch, seq_len), 0 at padding
    forms: torch.Tensor  # shape: (batch, seq_len), rows of form_chars; 0 at padding
    form_chars: torch.Tensor  # shape: (num_forms, word_len), character ids, 0 at padding
    form_lengths: torch.Tensor  # shape: (num_forms,)
    form_case: torch.Tensor  # shape: (num_forms,)
    lengths: torch.Tensor  # shape: (batch,), on the CPU (pack_padded_sequence wants it there)
    mask: torch.Tensor  # shape: (batch, seq_len), bool
    tags: Optional[torch.Tensor] = None  # shape: (batch, seq_len), 0 at padding

    @property
    def num_tokens(self) -> int:
        return int(self.lengths.sum())

    def to(self, device: torch.device) -> "Batch":
        moved = {}
        for f in fields(self):
            value = getattr(self, f.name)
            keep_on_cpu = f.name == "lengths"
            moved[f.name] = value if value is None or keep_on_cpu else value.to(device, non_blocking=True)
        return Batch(**moved)


def make_batch(sentences: Sequence[EncodedSentence], form_table: FormTable) -> Batch:
    """Pads ``sentences`` into a Batch; only the forms they use are taken from ``form_table``."""
    lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    seq_len = int(lengths.max())
    words = np.zeros((len(sentences), seq_len), dtype=np.int64)
    forms = np.zeros((len(sentences), seq_len), dtype=np.int64)
    with_tags = sentences[0].tags is not None
    tags = np.zeros((len(sentences), seq_len), dtype=np.int64) if with_tags else None
    for i, sentence in enumerate(sentences):
        n = len(sentence)
        words[i, :n] = sentence.words
        forms[i, :n] = sentence.forms
        if with_tags:
            tags[i, :n] = sentence.tags
    mask = np.arange(seq_len)[None, :] < lengths[:, None]
    all_chars, all_lengths, all_case = form_table.arrays()
    # Only the forms this batch uses; position 0 (padding) stays form 0 after the remapping.
    used, local_forms = np.unique(np.concatenate(([0], forms.ravel())), return_inverse=True)
    local_forms = local_forms[1:].reshape(forms.shape)
    form_lengths = all_lengths[used]
    word_len = max(1, int(form_lengths.max()))
    return Batch(
        words=torch.from_numpy(words),
        forms=torch.from_numpy(local_forms.astype(np.int64)),
        form_chars=torch.from_numpy(np.ascontiguousarray(all_chars[used, :word_len])),
        form_lengths=torch.from_numpy(form_lengths),
        form_case=torch.from_numpy(all_case[used]),
        lengths=torch.from_numpy(lengths),
        mask=torch.from_numpy(mask),
        tags=None if tags is None else torch.from_numpy(tags),
    )


def bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random, *, shuffle: bool = True) -> List[List[int]]:
    """Sentence indices grouped into batches of similar length.

    Sorting by length (with a little noise so batches differ between epochs) keeps padding
    small; the order of the batches is then shuffled.
    """
    order = list(range(len(lengths)))
    if shuffle:
        keys = {i: lengths[i] + rng.uniform(-1.5, 1.5) for i in order}
        order.sort(key=keys.__getitem__)
    else:
        order.sort(key=lambda i: lengths[i])
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        rng.shuffle(batches)
    return batches


def word_dropout(words: torch.Tensor, mask: torch.Tensor, rate: float, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Replaces each real word id by ``UNK_ID`` with probability ``rate`` (training only)."""
    if rate <= 0:
        return words
    drop = torch.rand(words.shape, generator=generator, device=words.device) < rate
    return words.masked_fill(drop & mask, UNK_ID)


def iter_chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
