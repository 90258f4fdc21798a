"""Turns encoded sentences into padded tensors: word ids, per-form character ids, masks and lengths,
and groups sentences of similar length into batches.

The encoding itself (``encode_sentence``, ``FormTable``, ``CharIndex``, casing classes) is torch-free
and lives in ``tagger.tagging``; it is re-exported here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from typing import List, Optional, Sequence

import numpy as np
import torch

# The encoding of sentences is torch-free and lives in tagger.tagging; re-exported here for its users.
from tagger.shapes import CASE_CLASSES
from tagger.tagging import CharIndex, EncodedSentence, FormTable, case_class, encode_sentence
from tagger.vocab import UNK_ID

__all__ = [
    "CASE_CLASSES",
    "Batch",
    "CharIndex",
    "EncodedSentence",
    "FormTable",
    "bucketed_batches",
    "case_class",
    "encode_sentence",
    "make_batch",
    "pad_contextual",
    "word_dropout",
]


@dataclass
class Batch:
    """Padded tensors for a batch of sentences (batch-first)."""

    words: torch.Tensor  # shape: (batch, seq_len), 0 at padding
    forms: torch.Tensor  # shape: (batch, seq_len), rows of form_chars (or of the FormTable); 0 at padding
    lengths: torch.Tensor  # shape: (batch,), on the CPU (pack_padded_sequence wants it there)
    mask: torch.Tensor  # shape: (batch, seq_len), bool
    tags: Optional[torch.Tensor] = None  # shape: (batch, seq_len), 0 at padding
    form_chars: Optional[torch.Tensor] = None  # shape: (num_forms, word_len), character ids, 0 at padding
    form_lengths: Optional[torch.Tensor] = None  # shape: (num_forms,)
    form_case: Optional[torch.Tensor] = None  # shape: (num_forms,)
    contextual: Optional[torch.Tensor] = None  # shape: (batch, seq_len, layers, dim), float16 until the model casts it, 0 at padding

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


def pad_contextual(features: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-sentence contextual features (layers, n_words, dim) padded into one tensor (batch, seq_len, layers, dim)."""
    layers, _, dim = features[0].shape
    seq_len = max(f.shape[1] for f in features)
    padded = features[0].new_zeros((len(features), seq_len, layers, dim))
    for i, feature in enumerate(features):
        padded[i, : feature.shape[1]] = feature.transpose(0, 1)
    return padded


def make_batch(
    sentences: Sequence[EncodedSentence], form_table: Optional[FormTable] = None, contextual: Optional[Sequence[torch.Tensor]] = None
) -> Batch:
    """Pads ``sentences`` into a Batch.

    With ``form_table``, the batch carries the characters of the forms it uses (and ``forms``
    points into them); without it, ``forms`` keeps the table's ids, for features computed once
    per table (inference). ``contextual``: the sentences' contextual features (``pad_contextual``).
    """
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
        if tags is not None:
            assert sentence.tags is not None, "a batch's sentences all have tags, or none has"
            tags[i, :n] = sentence.tags
    mask = np.arange(seq_len)[None, :] < lengths[:, None]
    batch = Batch(
        words=torch.from_numpy(words),
        forms=torch.from_numpy(forms),
        lengths=torch.from_numpy(lengths),
        mask=torch.from_numpy(mask),
        tags=None if tags is None else torch.from_numpy(tags),
        contextual=None if contextual is None else pad_contextual(contextual),
    )
    if form_table is not None:
        all_chars, all_lengths, all_case = form_table.arrays()
        # Only the forms this batch uses; position 0 (padding) stays form 0 after the remapping.
        used, local_forms = np.unique(np.concatenate(([0], forms.ravel())), return_inverse=True)
        form_lengths = all_lengths[used]
        batch.forms = torch.from_numpy(local_forms[1:].reshape(forms.shape).astype(np.int64))
        batch.form_chars = torch.from_numpy(np.ascontiguousarray(all_chars[used, : max(1, int(form_lengths.max()))]))
        batch.form_lengths = torch.from_numpy(form_lengths)
        batch.form_case = torch.from_numpy(all_case[used])
    return batch


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
    # Longest first within each batch, so that packing it needs no permutation.
    batches = [sorted(order[i : i + batch_size], key=lambda j: -lengths[j]) for i in range(0, len(order), batch_size)]
    if shuffle:
        rng.shuffle(batches)
    return batches


def word_dropout(words: torch.Tensor, mask: torch.Tensor, rate: float, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Replaces each real word id by ``UNK_ID`` with probability ``rate`` (training only)."""
    if rate <= 0:
        return words
    drop = torch.rand(words.shape, generator=generator, device=words.device) < rate
    return words.masked_fill(drop & mask, UNK_ID)
