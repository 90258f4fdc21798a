"""SequenceTagger: embeddings -> dropout -> recurrent encoder -> linear emissions -> softmax or CRF.

It knows nothing about files or strings: it takes a Batch of ids and returns a loss or tag ids.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from tagger.batching import CASE_CLASSES, Batch
from tagger.config import TaggerConfig
from tagger.crf import CRF
from tagger.encoders import SharedDropout, WordEncoder, make_char_encoder
from tagger.vocab import PAD_ID

Constraints = Tuple[Sequence[bool], Sequence[Sequence[bool]], Sequence[bool]]


class SequenceTagger(nn.Module):
    """A (bi)directional RNN/LSTM/GRU tagger over word, character and casing features.

    Args:
        config: The architecture, including the vocabulary sizes.
        constraints: Allowed (start, transition, end) moves for the CRF, from the tag scheme.
    """

    def __init__(self, config: TaggerConfig, constraints: Optional[Constraints] = None):
        super().__init__()
        self.config = config
        self.word_embedding = nn.Embedding(config.num_words, config.word_dim, padding_idx=PAD_ID)
        bound = (3.0 / config.word_dim) ** 0.5
        nn.init.uniform_(self.word_embedding.weight, -bound, bound)
        with torch.no_grad():
            self.word_embedding.weight[PAD_ID].zero_()
        self.word_embedding.weight.requires_grad_(not config.freeze_embeddings)
        self.char_encoder = make_char_encoder(
            config.char_encoder,
            config.num_chars,
            config.char_dim,
            config.char_hidden,
            config.char_kernel,
            config.dropout,
            config.shared_dropout,
        )
        self.case_embedding = nn.Embedding(len(CASE_CLASSES), config.case_dim, padding_idx=0) if config.case_dim else None
        input_size = config.word_dim + (self.char_encoder.output_size if self.char_encoder else 0) + config.case_dim
        self.dropout = SharedDropout(config.dropout, config.shared_dropout)
        self.encoder = WordEncoder(
            config.cell, input_size, config.hidden_size, config.layers, config.bidirectional, config.dropout, config.shared_dropout
        )
        self.output = nn.Linear(self.encoder.output_size, config.num_tags)
        nn.init.xavier_uniform_(self.output.weight)
        nn.init.zeros_(self.output.bias)
        self.crf = CRF(config.num_tags, constraints) if config.crf else None

    @property
    def input_size(self) -> int:
        return self.encoder.input_size

    def set_word_vectors(self, vectors: torch.Tensor) -> None:
        """Copies pretrained vectors (num_words, word_dim) into the word-embedding matrix."""
        if tuple(vectors.shape) != tuple(self.word_embedding.weight.shape):
            raise ValueError(f"expected vectors of shape {tuple(self.word_embedding.weight.shape)}, got {tuple(vectors.shape)}")
        with torch.no_grad():
            self.word_embedding.weight.copy_(vectors)
            self.word_embedding.weight[PAD_ID].zero_()

    def form_features(self, chars: torch.Tensor, lengths: torch.Tensor, case: torch.Tensor) -> Optional[torch.Tensor]:
        """Character and casing features of word forms, shape (num_forms, char_hidden + case_dim),
        or None when the model uses neither.
        """
        parts = []
        if self.char_encoder is not None:
            parts.append(self.char_encoder(chars, lengths))  # shape: (num_forms, char_hidden)
        if self.case_embedding is not None:
            parts.append(self.case_embedding(case))  # shape: (num_forms, case_dim)
        return torch.cat(parts, dim=-1) if parts else None

    def features(self, batch: Batch, words: Optional[torch.Tensor] = None, form_features: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Per-token input features, shape (batch, seq_len, input_size), before dropout.

        Args:
            words: Overrides ``batch.words`` (word dropout).
            form_features: Precomputed ``form_features`` of the forms ``batch.forms`` points into
                (inference computes them once per chunk); default: from the batch's own forms.
        """
        embedded = self.word_embedding(batch.words if words is None else words)  # shape: (batch, seq_len, word_dim)
        if form_features is None and batch.form_chars is not None:
            form_features = self.form_features(batch.form_chars, batch.form_lengths, batch.form_case)
        if form_features is None:
            return embedded
        return torch.cat([embedded, form_features[batch.forms]], dim=-1)

    def emissions(self, batch: Batch, words: Optional[torch.Tensor] = None, form_features: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Tag scores, shape (batch, seq_len, num_tags)."""
        inputs = self.dropout(self.features(batch, words, form_features))
        encoded = self.encoder(inputs, batch.lengths)  # shape: (batch, seq_len, encoder.output_size)
        return self.output(self.dropout(encoded))

    def loss(self, batch: Batch, words: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Mean negative log-likelihood per sentence (CRF) or per token (softmax); ``words``
        overrides ``batch.words`` (word dropout).
        """
        assert batch.tags is not None, "a training batch needs tags"
        emissions = self.emissions(batch, words)
        if self.crf is not None:
            return self.crf.nll(emissions, batch.tags, batch.mask, reduction="mean")
        return F.cross_entropy(emissions[batch.mask].float(), batch.tags[batch.mask])

    def decode_tensor(self, batch: Batch, form_features: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Best tag ids, shape (batch, seq_len), 0 at padding."""
        emissions = self.emissions(batch, form_features=form_features)
        if self.crf is not None:
            best, _ = self.crf.viterbi_tensor(emissions, batch.mask)
            return best
        return emissions.argmax(dim=-1).masked_fill(~batch.mask, 0)

    def decode(self, batch: Batch, form_features: Optional[torch.Tensor] = None) -> List[List[int]]:
        """Best tag ids per sentence, each of its real length."""
        best = self.decode_tensor(batch, form_features).tolist()
        return [row[:n] for row, n in zip(best, batch.lengths.tolist())]
