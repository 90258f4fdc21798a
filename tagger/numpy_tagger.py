"""NumpyTagger: a trained tagger run in float32 NumPy on the CPU, without importing torch.

It reads the same model directory as ``tagger.inference.Tagger`` (weights through
``safetensors.numpy``) and offers the same tagging interface; its emissions equal torch's up to
float32 rounding, so its tags are the same. Importing torch takes about a second, which was most
of ``tagger tag``'s time on a CPU; this engine starts in a fraction of that.

How the network is computed, and why it is fast without torch:

- A token's word id, characters and casing depend on its form only, so the first recurrent
  layer's input projection (``x @ W_ih.T + b_ih + b_hh``) is computed once per distinct form of a
  chunk, in one matmul, and gathered for every token.
- The character CNN's embedding and convolution fold into one table per kernel offset
  (``embedding @ W_j.T``), so encoding forms is a sum of gathers; the character BiLSTM's input
  projection is a table per character.
- A recurrent layer does one matmul per time step over the sentences still running: batches are
  sorted longest first, so those are the first rows (as with packed sequences).
- ``sigmoid(x) = (1 + tanh(x / 2)) / 2``, with the halving folded into the sigmoid gates' weights
  (multiplying by 0.5 is exact in binary floating point), so one ``tanh`` call covers all the gates
  of a step; ``tanh`` is stable for any input, unlike a naive ``1 / (1 + exp(-x))``.
- Viterbi is vectorised over the batch, with the constraints as ``tagger.crf`` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from tagger.config import TaggerConfig
from tagger.decoding import active_rows, viterbi
from tagger.errors import ModelFileError
from tagger.serialization import ModelFiles, check_weights, load_model_files
from tagger.shapes import GATES, expected_shapes
from tagger.tagging import FormTable, TaggerBase, TokenChunk, Vocabularies
from tagger.vocab import PAD_ID

__all__ = ["FORBIDDEN_SCORE", "BatchedEngine", "NumpyTagger", "active_rows", "viterbi"]

FORBIDDEN_SCORE = -10000.0
"""Score of a move the CRF's constraints forbid: ``tagger.crf.FORBIDDEN_SCORE`` (which imports torch;
a test checks that the two agree)."""

FORM_BLOCK = 1024
"""Word forms whose characters are encoded together (sorted by length, so little padding)."""


def _float32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


# ----------------------------------------------------------------------------- recurrent layers


@dataclass
class Recurrent:
    """One direction of one recurrent layer, its weights rearranged for ``run``.

    LSTM gate blocks are reordered to i, f, o, g so that the sigmoid gates are contiguous, and
    the sigmoid gates' rows (LSTM i, f, o; GRU r, z) are halved: ``tanh`` of them gives
    ``2 * sigmoid - 1``.
    """

    cell: str
    hidden: int
    w_ih_t: np.ndarray  # shape: (input_size, gates * hidden)
    bias: np.ndarray  # shape: (gates * hidden,), b_ih + b_hh (GRU: b_hh of r and z only)
    w_hh_t: np.ndarray  # shape: (hidden, gates * hidden)
    b_hn: Optional[np.ndarray]  # shape: (hidden,), the GRU candidate's b_hh (inside r * (...)); None otherwise

    @classmethod
    def from_weights(cls, cell: str, weights: Dict[str, np.ndarray], prefix: str, suffix: str = "") -> "Recurrent":
        """The direction whose torch weights are ``{prefix}weight_ih_l0{suffix}`` and so on."""
        w_ih, w_hh, b_ih, b_hh = (weights[f"{prefix}{name}_l0{suffix}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        hidden = w_hh.shape[1]
        b_hh = b_hh.copy()
        b_hn = None
        order = np.arange(GATES[cell] * hidden)
        halved = 0
        if cell == "lstm":
            i, f, g, o = np.split(order, 4)
            order = np.concatenate([i, f, o, g])
            halved = 3 * hidden
        elif cell == "gru":
            b_hn = _float32(b_hh[2 * hidden :].copy())
            b_hh[2 * hidden :] = 0.0
            halved = 2 * hidden
        scale = np.ones(len(order), dtype=np.float32)
        scale[:halved] = 0.5
        return cls(
            cell,
            hidden,
            _float32((w_ih[order] * scale[:, None]).T),
            _float32((b_ih[order] + b_hh[order]) * scale),
            _float32((w_hh[order] * scale[:, None]).T),
            b_hn,
        )

    def project(self, inputs: np.ndarray) -> np.ndarray:
        """Input projections ``inputs @ W_ih.T + biases``; inputs of shape (..., input_size)."""
        flat = inputs.reshape(-1, inputs.shape[-1]) @ self.w_ih_t
        flat += self.bias
        projected: np.ndarray = flat.reshape(*inputs.shape[:-1], flat.shape[1])
        return projected

    def run(self, projected: np.ndarray, active: np.ndarray, index: Optional[np.ndarray] = None) -> np.ndarray:
        """Runs the recurrence from a zero state.

        Args:
            projected: Input projections: shape (steps, batch, gates * hidden), time-major; or,
                with ``index``, a table of them, shape (rows, gates * hidden).
            active: Rows still running at each step, shape (steps,): rows are sorted by length,
                longest first, so step ``t`` computes rows ``:active[t]``.
            index: Shape (steps, batch): step ``t`` reads the table rows ``index[t]``. Gathering
                one step at a time keeps the inputs in cache and allocates nothing large.

        Returns:
            Hidden states, shape (steps, batch, hidden); 0 where a row had ended.
        """
        steps, batch = (index if index is not None else projected).shape[:2]
        out = np.zeros((steps, batch, self.hidden), dtype=np.float32)
        zeros = np.zeros((batch, self.hidden), dtype=np.float32)
        gates = np.empty((batch, GATES[self.cell] * self.hidden), dtype=np.float32)
        gathered = np.empty_like(gates) if index is not None else None
        memory = np.zeros_like(zeros)  # LSTM cell state
        scratch = np.empty_like(zeros)
        step = {"lstm": self._lstm_step, "gru": self._gru_step}.get(self.cell, self._rnn_step)  # chosen once, not per step
        for t in range(steps):
            n = int(active[t])
            previous = (out[t - 1] if t else zeros)[:n]
            x = projected[t, :n] if index is None or gathered is None else np.take(projected, index[t, :n], axis=0, out=gathered[:n])
            step(previous, x, out[t, :n], gates, memory, scratch)
        return out

    # One time step of each cell over the n rows still running, in place: ``previous`` and ``x``
    # (the input projections) are read, ``state`` (this step's rows of ``run``'s output) receives
    # the hidden state. ``gates`` and ``scratch`` (work space) and ``memory`` (the LSTM cell state)
    # come whole, and a step slices the first n rows of those it uses: a plain RNN uses none.

    def _lstm_step(
        self, previous: np.ndarray, x: np.ndarray, state: np.ndarray, gates: np.ndarray, memory: np.ndarray, scratch: np.ndarray
    ) -> None:
        """One LSTM step (gates i, f, o, g; the sigmoid gates' weights halved)."""
        size, n = self.hidden, len(state)
        gates, memory, scratch = gates[:n], memory[:n], scratch[:n]
        np.matmul(previous, self.w_hh_t, out=gates)
        gates += x
        np.tanh(gates, out=gates)
        sigmoid = gates[:, : 3 * size]
        sigmoid *= 0.5
        sigmoid += 0.5
        memory *= gates[:, size : 2 * size]  # forget
        np.multiply(gates[:, :size], gates[:, 3 * size :], out=scratch)  # input * candidate
        memory += scratch
        np.tanh(memory, out=scratch)
        np.multiply(gates[:, 2 * size : 3 * size], scratch, out=state)  # output * tanh(c)

    def _gru_step(
        self, previous: np.ndarray, x: np.ndarray, state: np.ndarray, gates: np.ndarray, memory: np.ndarray, scratch: np.ndarray
    ) -> None:
        """One GRU step (gates r, z, n; r and z's weights halved); ``memory`` and ``scratch`` are unused."""
        size = self.hidden
        gates = gates[: len(state)]
        np.matmul(previous, self.w_hh_t, out=gates)
        rz = gates[:, : 2 * size]
        rz += x[:, : 2 * size]
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        candidate = gates[:, 2 * size :]
        assert self.b_hn is not None  # from_weights sets it for a GRU
        candidate += self.b_hn
        candidate *= rz[:, :size]  # r * (W_hn h + b_hn)
        candidate += x[:, 2 * size :]
        np.tanh(candidate, out=candidate)
        np.subtract(previous, candidate, out=state)  # h' = n + z * (h - n) = (1 - z) * n + z * h
        state *= rz[:, size:]
        state += candidate

    def _rnn_step(
        self, previous: np.ndarray, x: np.ndarray, state: np.ndarray, gates: np.ndarray, memory: np.ndarray, scratch: np.ndarray
    ) -> None:
        """One tanh RNN step; only ``previous``, ``x`` and ``state`` are used."""
        np.matmul(previous, self.w_hh_t, out=state)
        state += x
        np.tanh(state, out=state)


def reversal_index(lengths: np.ndarray, steps: int) -> np.ndarray:
    """Indices that reverse each row within its length and leave its padding in place, shape (rows, steps)."""
    positions = np.arange(steps)[None, :]
    last = lengths[:, None] - 1
    return np.where(positions <= last, last - positions, positions)


# ----------------------------------------------------------------------------- character encoders


class CharCNN:
    """``tagger.encoders.CharCNN`` at inference: conv1d (kernel k, padding k // 2) over character
    embeddings, then the max over each form's real positions; 0 for the empty form.
    """

    def __init__(self, embedding: np.ndarray, conv_weight: np.ndarray, conv_bias: np.ndarray):
        self.kernel = conv_weight.shape[2]
        self.boundary = embedding.shape[0]  # the index of the zero row: the convolution's own padding
        # tables[j][c]: what character c contributes at kernel offset j, shape (kernel, num_chars + 1, filters).
        tables = np.einsum("cd,fdj->jcf", embedding.astype(np.float32), conv_weight.astype(np.float32))
        self.tables = _float32(np.concatenate([tables, np.zeros((self.kernel, 1, tables.shape[2]), dtype=np.float32)], axis=1))
        self.bias = _float32(conv_bias)
        self.output_size = conv_weight.shape[0]

    def __call__(self, chars: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Encodes forms of similar length: chars (forms, width), PAD_ID after each form; returns (forms, filters)."""
        forms, width = chars.shape
        pad = self.kernel // 2
        padded = np.pad(chars, ((0, 0), (pad, pad)), constant_values=self.boundary)
        features = self.tables[0][padded[:, :width]]  # shape: (forms, width, filters)
        for j in range(1, self.kernel):
            features += self.tables[j][padded[:, j : j + width]]
        features += self.bias
        features[chars == PAD_ID] = np.finfo(np.float32).min
        pooled: np.ndarray = features.max(axis=1)  # shape: (forms, filters)
        pooled[lengths == 0] = 0.0  # the empty padding form
        return pooled


class CharLSTM:
    """``tagger.encoders.CharLSTM`` at inference: the last forward and first backward states of a
    character BiLSTM, concatenated; 0 for the empty form.
    """

    def __init__(self, embedding: np.ndarray, weights: Dict[str, np.ndarray]):
        self.directions = [Recurrent.from_weights("lstm", weights, "char_encoder.lstm.", suffix) for suffix in ("", "_reverse")]
        # Input projection of each character, shape (num_chars, 4 * hidden) per direction.
        self.tables = [rnn.project(_float32(embedding)) for rnn in self.directions]
        self.output_size = 2 * self.directions[0].hidden

    def __call__(self, chars: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Same contract as ``CharCNN.__call__``."""
        order = np.argsort(-lengths, kind="stable")  # longest first, for Recurrent.run
        chars, sorted_lengths = chars[order], np.maximum(lengths[order], 1)  # the empty form reads one PAD (as torch)
        steps = int(sorted_lengths[0])
        active = active_rows(sorted_lengths, steps)
        rows = np.arange(len(order))
        reverse = np.take_along_axis(chars[:, :steps], reversal_index(sorted_lengths, steps), axis=1)
        finals = []
        for rnn, table, ids in zip(self.directions, self.tables, (chars[:, :steps], reverse)):
            states = rnn.run(table[ids.T], active)  # shape: (steps, forms, hidden)
            finals.append(states[sorted_lengths - 1, rows])
        encoded = np.empty((len(order), self.output_size), dtype=np.float32)
        encoded[order] = np.concatenate(finals, axis=1)
        encoded[lengths == 0] = 0.0
        return encoded


# ----------------------------------------------------------------------------- the tagger


class BatchedEngine(TaggerBase):
    """An engine whose ``_batches`` yield ``(indices, lengths, emissions)`` as NumPy arrays and whose
    ``_decode`` turns a batch's emissions into tag ids (the NumPy and onnxruntime engines).
    """

    def _batches(self, sentences: Sequence[Sequence[str]], batch_size: int) -> Iterator[Tuple[List[int], np.ndarray, np.ndarray]]:
        raise NotImplementedError

    def _decode(self, emissions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _predict_chunk(self, sentences: Sequence[Sequence[str]], batch_size: int) -> List[List[str]]:
        results: List[List[str]] = [[] for _ in sentences]
        for indices, lengths, emissions in self._batches(sentences, batch_size):
            for i, n, ids in zip(indices, lengths.tolist(), self._decode(emissions, lengths).tolist()):
                results[i] = self._to_output(ids[:n])
        return results


class NumpyTagger(BatchedEngine):
    """A trained sequence tagger computed with NumPy only (CPU, float32); the interface of ``Tagger``.

    Args:
        files: A model directory's contents, read with ``load_model_files(path, tensors="numpy")``.

    Raises:
        ModelFileError: weights that do not match the configuration, or a model with contextual features.
    """

    def __init__(self, files: ModelFiles, source: Optional[Union[str, Path]] = None):
        config, weights = files.config, files.state_dict
        if config.contextual_layers:
            encoder = files.contextual.get("name_or_path") if files.contextual else "(not recorded)"
            raise ModelFileError(
                f"the model uses contextual features of the encoder {encoder}, which the NumPy engine cannot compute; "
                "tag it with the torch engine (--engine torch, or tagger.Tagger)",
                source,
            )
        check_weights(weights, expected_shapes(config))  # load_model_files has checked more; files may come from elsewhere
        self._config = config
        self.word_embedding = _float32(weights["word_embedding.weight"])
        self.char_encoder: Union[CharCNN, CharLSTM, None] = None
        if config.char_encoder == "cnn":
            self.char_encoder = CharCNN(
                weights["char_encoder.embedding.weight"], weights["char_encoder.conv.weight"], weights["char_encoder.conv.bias"]
            )
        elif config.char_encoder == "lstm":
            self.char_encoder = CharLSTM(weights["char_encoder.embedding.weight"], weights)
        self.case_embedding = _float32(weights["case_embedding.weight"]) if config.case_dim else None
        sides = ("forward", "backward") if config.bidirectional else ("forward",)
        self.layers = [
            [Recurrent.from_weights(config.cell, weights, f"encoder.{side}_layers.{layer}.") for side in sides]
            for layer in range(config.layers)
        ]
        # The output layer's weights for each direction's states, shape (hidden, num_tags) each.
        self.output_t = [_float32(part.T) for part in np.split(weights["output.weight"], len(sides), axis=1)]
        self.output_bias = _float32(weights["output.bias"])
        self.crf_scores: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None
        if config.crf:
            start, transitions, end = (
                _float32(np.where(weights[f"crf.allowed_{allowed}"], weights[f"crf.{name}"], FORBIDDEN_SCORE))
                for allowed, name in (("start", "start_transitions"), ("transitions", "transitions"), ("end", "end_transitions"))
            )
            self.crf_scores = (start, transitions, end)
        super().__init__(Vocabularies.from_files(files), files.train_config, files.meta)

    ENGINE = "numpy"

    @classmethod
    def load(cls, path: Union[str, Path]) -> "NumpyTagger":
        """Loads a model directory written by ``tagger.train`` or ``Tagger.save`` (torch is not imported).

        Raises:
            ModelFileError: not a model directory, or a bad or corrupt file in it.
        """
        return cls(load_model_files(path, tensors="numpy"), source=path)

    # -- the network ----------------------------------------------------------------------------

    @property
    def config(self) -> TaggerConfig:
        return self._config

    def _first_layer_inputs(self, chunk: TokenChunk) -> List[np.ndarray]:
        """The first layer's input projection of every form of a chunk, per direction, shape (num_forms, gates * hidden).

        A token's input (word vector, character and casing features) depends on its form only.
        """
        chars, lengths, case = chunk.forms.arrays()
        parts = [self.word_embedding[chunk.word_ids(self.word_vocab)]]
        if self.char_encoder is not None:
            features = np.empty((len(lengths), self.char_encoder.output_size), dtype=np.float32)
            order = np.argsort(lengths, kind="stable")
            for start in range(0, len(order), FORM_BLOCK):
                rows = order[start : start + FORM_BLOCK]
                width = max(1, int(lengths[rows].max()))
                features[rows] = self.char_encoder(chars[rows, :width], lengths[rows])
            parts.append(features)
        if self.case_embedding is not None:
            parts.append(self.case_embedding[case])
        inputs = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]  # shape: (num_forms, input_size)
        return [rnn.project(inputs) for rnn in self.layers[0]]

    def _emissions(self, forms: np.ndarray, lengths: np.ndarray, first_inputs: List[np.ndarray]) -> np.ndarray:
        """Tag scores of a batch, shape (steps, batch, num_tags), time-major.

        Args:
            forms: Form ids, shape (batch, steps), rows sorted by length, longest first.
            lengths: Shape (batch,).
            first_inputs: ``_first_layer_inputs`` of the forms' chunk.
        """
        batch, steps = forms.shape
        active = active_rows(lengths, steps)
        reverse = reversal_index(lengths, steps)  # shape: (batch, steps)
        # Row t * batch + b of a time-major (steps * batch, ...) array holds step t of sentence b;
        # taking these rows reverses every sentence within its length (and undoes the reversal).
        reverse_rows = (reverse.T * batch + np.arange(batch)).ravel()  # shape: (steps * batch,)
        readings = (forms.T, np.take_along_axis(forms, reverse, axis=1).T)  # each direction's form ids, shape (steps, batch)
        states: np.ndarray = np.empty(0)
        emissions = states
        for layer, directions in enumerate(self.layers):
            last = layer == len(self.layers) - 1
            outputs = []
            for direction, rnn in enumerate(directions):
                backward = direction == 1
                if layer == 0:
                    encoded = rnn.run(first_inputs[direction], active, readings[direction])
                elif backward:
                    projected = rnn.project(states).reshape(steps * batch, -1)  # states: the previous layer's
                    encoded = rnn.run(projected, active, reverse_rows.reshape(steps, batch))
                else:
                    encoded = rnn.run(rnn.project(states), active)
                encoded = encoded.reshape(steps * batch, -1)  # shape: (steps * batch, hidden), in reading order
                if last:
                    # The output layer, one direction at a time: a backward direction's scores are
                    # un-reversed, which moves num_tags numbers per token rather than hidden.
                    scores = encoded @ self.output_t[direction]
                    outputs.append(np.take(scores, reverse_rows, axis=0) if backward else scores)
                else:
                    outputs.append(np.take(encoded, reverse_rows, axis=0) if backward else encoded)
            if last:
                emissions = outputs[0] if len(outputs) == 1 else outputs[0] + outputs[1]
                emissions += self.output_bias
            else:
                states = np.concatenate(outputs, axis=1).reshape(steps, batch, -1)  # shape: (steps, batch, output_size)
        return emissions.reshape(steps, batch, -1)

    def _batches(self, sentences: Sequence[Sequence[str]], batch_size: int) -> Iterator[Tuple[List[int], np.ndarray, np.ndarray]]:
        """``(indices, lengths, emissions)`` per batch of a chunk, batches of similar length, longest first."""
        chunk = TokenChunk(sentences, FormTable(self.char_vocab, char_index=self._char_index))
        if not len(chunk.flat):
            return
        first_inputs = self._first_layer_inputs(chunk)
        for batch in chunk.batches(batch_size):
            yield batch.indices, batch.lengths, self._emissions(batch.forms, batch.lengths, first_inputs)

    def _decode(self, emissions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Best tag ids, shape (batch, steps)."""
        if self.crf_scores is not None:
            return viterbi(emissions, lengths, *self.crf_scores)
        best: np.ndarray = emissions.argmax(axis=2).T
        return best

    def transition_scores(self) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return self.crf_scores

    def emissions(self, sentences: Sequence[Sequence[str]], batch_size: int = 256) -> List[np.ndarray]:
        """Tag scores (in the training scheme's label order) per sentence, shape (length, num_tags) each."""
        results = [np.zeros((len(tokens), self.config.num_tags), dtype=np.float32) for tokens in sentences]
        for indices, lengths, emissions in self._batches(sentences, batch_size):
            for column, (i, n) in enumerate(zip(indices, lengths.tolist())):
                results[i] = emissions[:n, column]
        return results
