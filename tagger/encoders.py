"""Character encoders (CNN, BiLSTM) and the recurrent word encoder (RNN/LSTM/GRU), with the
initialisation the seeds recommend: orthogonal recurrent weights, Xavier input weights, forget-gate bias 1.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tagger.vocab import PAD_ID

RECURRENT_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class SharedDropout(nn.Module):
    """Dropout with one mask per sequence, shared by all its positions (Gal & Ghahramani's variational
    dropout; flair's "locked" dropout). It needs ``seq_len`` times fewer random numbers than
    ``nn.Dropout``, which made it a fifth of a CPU training step's time.

    Args:
        p: Probability of zeroing a feature.
        shared: Share the mask along dimension 1 (positions); False behaves like ``nn.Dropout``.
    """

    def __init__(self, p: float, shared: bool = True):
        super().__init__()
        self.p = p
        self.shared = shared

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Drops features of ``inputs`` (batch, positions, features) during training."""
        if not self.training or self.p == 0.0:
            return inputs
        if not self.shared or inputs.dim() != 3:
            return nn.functional.dropout(inputs, self.p, training=True)
        keep = inputs.new_empty((inputs.shape[0], 1, inputs.shape[2])).bernoulli_(1.0 - self.p)
        return inputs * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, shared={self.shared}"


def init_recurrent(module: nn.RNNBase) -> None:
    """Orthogonal recurrent weights and Xavier input weights, one gate block at a time; zero biases
    except the LSTM forget gate, whose bias is 1 so that memory is kept early in training.
    """
    gates = {nn.LSTM: 4, nn.GRU: 3}.get(type(module), 1)
    hidden = module.hidden_size
    for name, param in module.named_parameters():
        with torch.no_grad():
            if name.startswith("weight_hh"):
                for block in param.split(hidden, dim=0):
                    nn.init.orthogonal_(block)
            elif name.startswith("weight_ih"):
                for block in param.split(hidden, dim=0):
                    nn.init.xavier_uniform_(block)
            elif name.startswith("bias"):
                param.zero_()
                if gates == 4 and name.startswith("bias_ih"):
                    param[hidden : 2 * hidden] = 1.0  # PyTorch's gate order is input, forget, cell, output


class CharCNN(nn.Module):
    """Ma & Hovy's character CNN: embeddings -> dropout -> 1-D convolution -> max over positions."""

    def __init__(self, num_chars: int, char_dim: int, filters: int, kernel: int, dropout: float, shared_dropout: bool = True):
        super().__init__()
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=PAD_ID)
        self.dropout = SharedDropout(dropout, shared_dropout)
        self.conv = nn.Conv1d(char_dim, filters, kernel, padding=kernel // 2)
        self.output_size = filters
        nn.init.uniform_(self.embedding.weight, -((3.0 / char_dim) ** 0.5), (3.0 / char_dim) ** 0.5)
        with torch.no_grad():
            self.embedding.weight[PAD_ID].zero_()

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Encodes word forms.

        Args:
            chars: Character ids, shape (num_forms, word_len), PAD_ID after each form's end.
            lengths: Characters per form, shape (num_forms,).

        Returns:
            One vector per form, shape (num_forms, filters).
        """
        embedded = self.dropout(self.embedding(chars))  # shape: (num_forms, word_len, char_dim)
        features = self.conv(embedded.transpose(1, 2))  # shape: (num_forms, filters, word_len')
        features = features[:, :, : chars.shape[1]]  # even kernels pad one position too many
        padding = (chars == PAD_ID).unsqueeze(1)  # shape: (num_forms, 1, word_len)
        pooled = features.masked_fill(padding, torch.finfo(features.dtype).min).amax(dim=2)
        return pooled.masked_fill((lengths == 0).unsqueeze(1).to(pooled.device), 0.0)  # the empty padding form


class CharLSTM(nn.Module):
    """Lample et al.'s character BiLSTM: the last forward and first backward states, concatenated."""

    def __init__(self, num_chars: int, char_dim: int, hidden: int, dropout: float, shared_dropout: bool = True):
        super().__init__()
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=PAD_ID)
        self.dropout = SharedDropout(dropout, shared_dropout)
        self.lstm = nn.LSTM(char_dim, hidden // 2, batch_first=True, bidirectional=True)
        self.output_size = hidden
        init_recurrent(self.lstm)
        nn.init.uniform_(self.embedding.weight, -((3.0 / char_dim) ** 0.5), (3.0 / char_dim) ** 0.5)
        with torch.no_grad():
            self.embedding.weight[PAD_ID].zero_()

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Same contract as CharCNN.forward; returns shape (num_forms, hidden)."""
        embedded = self.dropout(self.embedding(chars))  # shape: (num_forms, word_len, char_dim)
        packed = pack_padded_sequence(embedded, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        _, (final, _) = self.lstm(packed)  # final shape: (2, num_forms, hidden // 2)
        encoded = torch.cat([final[0], final[1]], dim=1)  # shape: (num_forms, hidden)
        return encoded.masked_fill((lengths == 0).unsqueeze(1).to(encoded.device), 0.0)


def make_char_encoder(
    kind: str, num_chars: int, char_dim: int, hidden: int, kernel: int, dropout: float, shared_dropout: bool = True
) -> nn.Module | None:
    if kind == "cnn":
        return CharCNN(num_chars, char_dim, hidden, kernel, dropout, shared_dropout)
    if kind == "lstm":
        return CharLSTM(num_chars, char_dim, hidden, dropout, shared_dropout)
    return None


class WordEncoder(nn.Module):
    """A stack of RNN, LSTM or GRU layers over packed sentences (padding costs no compute, and a
    sentence's states do not depend on the other sentences in its batch).
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, layers: int, bidirectional: bool, dropout: float):
        super().__init__()
        rnn_class = RECURRENT_CELLS[cell]
        extra = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = rnn_class(
            input_size,
            hidden_size,
            num_layers=layers,
            bidirectional=bidirectional,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
            **extra,
        )
        self.output_size = hidden_size * (2 if bidirectional else 1)
        init_recurrent(self.rnn)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Encodes padded sentences.

        Args:
            inputs: Shape (batch, seq_len, input_size).
            lengths: Real lengths on the CPU, shape (batch,).

        Returns:
            Shape (batch, seq_len, output_size), zeros at padding.
        """
        if bool((lengths == inputs.shape[1]).all()):
            return self.rnn(inputs)[0]  # no padding in this batch: packing would only cost time
        # Batches sorted by decreasing length (as the trainer and Tagger make them) skip the
        # permutations that packing an unsorted batch needs.
        descending = bool((lengths[:-1] >= lengths[1:]).all())
        packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=descending)
        outputs, _ = self.rnn(packed)
        padded, _ = pad_packed_sequence(outputs, batch_first=True, total_length=inputs.shape[1])
        return padded  # shape: (batch, seq_len, output_size)
