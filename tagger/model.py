"""SequenceTagger: embeddings -> dropout -> recurrent encoder -> linear emissions -> softmax or CRF.

It knows nothing about files or strings: it takes a Batch of ids and returns a loss or tag ids.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from tagger.batching import CASE_CLASSES, Batch
from tagger.config import TaggerConfig
from tagger.crf import CRF
from tagger.encoders import SharedDropout, WordEncoder, make_char_encoder
from tagger.vocab import PAD_ID

Constraints = Tuple[Sequence[bool], Sequence[Sequence[bool]], Sequence[bool]]


class WordEmbedding(nn.Module):
    """The word-vector table: its first rows a parameter, the rest (a vector file's words beyond the
    training vocabulary) a frozen buffer, so that neither gradients nor optimiser state grow with them.

    Whatever the split, it is saved and loaded as one ``weight`` of shape (num_words, dim), as an
    ``nn.Embedding`` is: a loaded model (one matrix) and a training run (split) read each other's
    state dicts.

    Args:
        num_words: Rows of the table.
        dim: Vector size.
        trainable: Whether the parameter rows learn (False: every row is fixed).
    """

    def __init__(self, num_words: int, dim: int, trainable: bool = True):
        super().__init__()
        self.head = nn.Parameter(torch.empty(num_words, dim), requires_grad=trainable)  # rows [0, trainable_rows)
        self.register_buffer("tail", torch.empty(0, dim), persistent=False)  # rows [trainable_rows, num_words)
        bound = (3.0 / dim) ** 0.5
        nn.init.uniform_(self.head, -bound, bound)

    @property
    def trainable_rows(self) -> int:
        """Rows of the parameter (fine-tuned unless frozen); the buffer's rows follow them."""
        return self.head.shape[0]

    @property
    def num_words(self) -> int:
        """Rows of the whole table."""
        return self.head.shape[0] + self.tail.shape[0]

    @property
    def weight(self) -> torch.Tensor:
        """The whole table, shape (num_words, dim): the parameter itself when nothing is split off, else a copy."""
        return self.head if not len(self.tail) else torch.cat([self.head, self.tail])

    def set_vectors(self, vectors: torch.Tensor, trainable_rows: Optional[int] = None) -> None:
        """Copies ``vectors`` (num_words, dim) in; rows from ``trainable_rows`` on (default: none) become the frozen buffer.

        Raises:
            ValueError: ``vectors`` has another shape, or ``trainable_rows`` is not in [2, num_words].
        """
        shape = (self.num_words, self.head.shape[1])
        if tuple(vectors.shape) != shape:
            raise ValueError(f"expected vectors of shape {shape}, got {tuple(vectors.shape)}")
        rows = shape[0] if trainable_rows is None else trainable_rows
        if not 2 <= rows <= shape[0]:  # <pad> and <unk> are always rows of the parameter
            raise ValueError(f"trainable_rows must be in [2, {shape[0]}], got {rows}")
        device = self.head.device
        with torch.no_grad():
            self.head = nn.Parameter(vectors[:rows].to(device, torch.float32, copy=True), requires_grad=self.head.requires_grad)
            self.tail = vectors[rows:].to(device, torch.float32, copy=True)
            self.head[PAD_ID].zero_()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """The vectors of ``ids`` (any shape), shape ``ids.shape + (dim,)``."""
        if not len(self.tail):
            return F.embedding(ids, self.head, padding_idx=PAD_ID)
        rows = self.trainable_rows
        in_head = ids < rows
        head = F.embedding(ids.masked_fill(~in_head, PAD_ID), self.head, padding_idx=PAD_ID)
        tail = F.embedding((ids - rows).clamp_(min=0), self.tail)
        return torch.where(in_head.unsqueeze(-1), head, tail)

    def _save_to_state_dict(self, destination: Dict[str, Any], prefix: str, keep_vars: bool) -> None:
        weight = self.weight
        destination[prefix + "weight"] = weight if keep_vars else weight.detach()

    def _load_from_state_dict(
        self,
        state_dict: Dict[str, Any],
        prefix: str,
        local_metadata: Dict[str, Any],
        strict: bool,
        missing_keys: List[str],
        unexpected_keys: List[str],
        error_msgs: List[str],
    ) -> None:
        key = prefix + "weight"
        if strict:
            unexpected_keys.extend(k for k in state_dict if k.startswith(prefix) and k != key)
        if key not in state_dict:
            missing_keys.append(key)
            return
        weight = state_dict[key]
        shape = (self.num_words, self.head.shape[1])
        if tuple(weight.shape) != shape:
            error_msgs.append(
                f"size mismatch for {key}: copying a param with shape {tuple(weight.shape)}, the shape in the model is {shape}"
            )
            return
        with torch.no_grad():
            self.head.copy_(weight[: self.trainable_rows])
            self.tail.copy_(weight[self.trainable_rows :])


class ScalarMix(nn.Module):
    """A learned mix of an encoder's layers (ELMo): ``gamma * sum_j softmax(weights)_j * layer_j``.

    Starts as the plain average of the layers (weights 0, gamma 1).

    Args:
        layers: Layers mixed.
    """

    def __init__(self, layers: int):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(layers))
        self.gamma = nn.Parameter(torch.ones(1))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """The mix of ``states`` (..., layers, dim), shape (..., dim)."""
        mix = torch.softmax(self.weights, dim=0)  # shape: (layers,)
        return self.gamma * torch.einsum("...ld,l->...d", states, mix.to(states.dtype))


class SequenceTagger(nn.Module):
    """A (bi)directional RNN/LSTM/GRU tagger over word, character and casing features, and a scalar mix
    of a frozen encoder's layers when ``config.contextual_layers`` (the features come in ``Batch.contextual``).

    Args:
        config: The architecture, including the vocabulary sizes.
        constraints: Allowed (start, transition, end) moves for the CRF, from the tag scheme.
    """

    def __init__(self, config: TaggerConfig, constraints: Optional[Constraints] = None):
        super().__init__()
        self.config = config
        self.word_embedding = WordEmbedding(config.num_words, config.word_dim, trainable=not config.freeze_embeddings)
        with torch.no_grad():
            self.word_embedding.head[PAD_ID].zero_()
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
        self.contextual_mix = ScalarMix(config.contextual_layers) if config.contextual_layers else None
        input_size = config.word_dim + (self.char_encoder.output_size if self.char_encoder else 0) + config.case_dim + config.contextual_dim
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

    def set_word_vectors(self, vectors: torch.Tensor, trainable_rows: Optional[int] = None) -> None:
        """Copies pretrained vectors (num_words, word_dim) into the word-embedding matrix.

        Args:
            vectors: The matrix; the ``<pad>`` row is zeroed.
            trainable_rows: Only rows before this one (the training vocabulary) are fine-tuned; the
                others keep their vectors. Default: every row (all frozen under ``freeze_embeddings``).

        Raises:
            ValueError: ``vectors`` has another shape, or ``trainable_rows`` is not in [2, num_words].
        """
        self.word_embedding.set_vectors(vectors, trainable_rows)

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
            assert batch.form_lengths is not None and batch.form_case is not None  # make_batch sets all three
            form_features = self.form_features(batch.form_chars, batch.form_lengths, batch.form_case)
        parts = [embedded]
        if form_features is not None:
            parts.append(form_features[batch.forms])  # shape: (batch, seq_len, char_hidden + case_dim)
        if self.contextual_mix is not None:
            if batch.contextual is None:
                raise ValueError("this model needs contextual features: the batch has none (Batch.contextual)")
            parts.append(self.contextual_mix(batch.contextual.float()))  # shape: (batch, seq_len, contextual_dim)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

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
