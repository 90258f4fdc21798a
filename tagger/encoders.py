"""Character encoders (CNN, BiLSTM) and the recurrent word encoder (RNN/LSTM/GRU), with the
initialisation the seeds recommend: orthogonal recurrent weights, Xavier input weights, forget-gate bias 1.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

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
) -> CharCNN | CharLSTM | None:
    if kind == "cnn":
        return CharCNN(num_chars, char_dim, hidden, kernel, dropout, shared_dropout)
    if kind == "lstm":
        return CharLSTM(num_chars, char_dim, hidden, dropout, shared_dropout)
    return None


def reversal_index(lengths: torch.Tensor, seq_len: int) -> torch.Tensor:
    """Indices that reverse each sentence within its own length and leave its padding in place.

    Args:
        lengths: Real lengths, shape (batch,), on the device of the data to reverse.
        seq_len: Padded length.

    Returns:
        Shape (batch, seq_len); applying it twice is the identity.
    """
    positions = torch.arange(seq_len, device=lengths.device).unsqueeze(0)  # shape: (1, seq_len)
    last = (lengths - 1).unsqueeze(1)  # shape: (batch, 1)
    return torch.where(positions <= last, last - positions, positions)


def reverse_sentences(inputs: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``inputs`` (batch, seq_len, features) with each sentence reversed by ``reversal_index``."""
    return inputs.gather(1, index.unsqueeze(2).expand(-1, -1, inputs.shape[2]))


class WordEncoder(nn.Module):
    """A stack of RNN, LSTM or GRU layers, reading each sentence in one or both directions.

    Each direction of each layer is a unidirectional RNN over the padded batch. The forward RNN
    reads every sentence from its first token; the backward RNN reads every sentence reversed
    within its own length. Padding always follows the real tokens, so it never reaches a real
    token's state: a sentence's states do not depend on the rest of its batch, exactly as with
    ``pack_padded_sequence``. Packing was not used because, on CPU, torch's packed RNNs compute
    the input gradient one time step at a time over the whole packed input, which made a
    bidirectional LSTM's forward and backward passes 3x slower than the padded kernels (oneDNN).
    Length-bucketed batches keep the padded work small.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        layers: int,
        bidirectional: bool,
        dropout: float,
        shared_dropout: bool = True,
    ):
        super().__init__()
        rnn_class = RECURRENT_CELLS[cell]
        extra = {"nonlinearity": "tanh"} if cell == "rnn" else {}

        def make(size: int) -> nn.RNNBase:
            rnn = rnn_class(size, hidden_size, batch_first=True, **extra)
            init_recurrent(rnn)
            return rnn

        directions = 2 if bidirectional else 1
        sizes = [input_size] + [hidden_size * directions] * (layers - 1)
        self.forward_layers = nn.ModuleList(make(size) for size in sizes)
        self.backward_layers = nn.ModuleList(make(size) for size in sizes) if bidirectional else nn.ModuleList()
        self.between_layers = SharedDropout(dropout, shared_dropout)
        self.input_size = input_size
        self.output_size = hidden_size * directions

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Encodes padded sentences.

        Args:
            inputs: Shape (batch, seq_len, input_size), padding after each sentence's tokens.
            lengths: Real lengths, shape (batch,).

        Returns:
            Shape (batch, seq_len, output_size), zeros at padding.
        """
        lengths = lengths.to(inputs.device)
        seq_len = inputs.shape[1]
        reverse = reversal_index(lengths, seq_len) if len(self.backward_layers) else None
        states = inputs
        for layer, forward_rnn in enumerate(self.forward_layers):
            if layer:
                states = self.between_layers(states)
            outputs = forward_rnn(states)[0]  # shape: (batch, seq_len, hidden_size)
            if reverse is not None:
                backward = self.backward_layers[layer](reverse_sentences(states, reverse))[0]
                outputs = torch.cat([outputs, reverse_sentences(backward, reverse)], dim=2)
            states = outputs
        mask = torch.arange(seq_len, device=inputs.device).unsqueeze(0) < lengths.unsqueeze(1)  # shape: (batch, seq_len)
        return states * mask.unsqueeze(2).to(states.dtype)  # shape: (batch, seq_len, output_size)
