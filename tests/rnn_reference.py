"""A torch bidirectional RNN holding a WordEncoder's weights: the packed reference it must equal."""

from __future__ import annotations

import torch

from tagger.encoders import RECURRENT_CELLS, WordEncoder


def packed_reference(encoder: WordEncoder, cell: str) -> torch.nn.RNNBase:
    """``nn.LSTM/GRU/RNN(bidirectional=True)`` with ``encoder``'s weights, on its device."""
    layers = len(encoder.forward_layers)
    first = encoder.forward_layers[0]
    reference = RECURRENT_CELLS[cell](first.input_size, first.hidden_size, num_layers=layers, bidirectional=True, batch_first=True)
    reference = reference.to(first.weight_hh_l0.device)
    with torch.no_grad():
        for layer in range(layers):
            for name, param in encoder.forward_layers[layer].named_parameters():
                getattr(reference, name.replace("l0", f"l{layer}")).copy_(param)
            for name, param in encoder.backward_layers[layer].named_parameters():
                getattr(reference, name.replace("l0", f"l{layer}") + "_reverse").copy_(param)
    return reference
