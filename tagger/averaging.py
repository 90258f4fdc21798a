"""Parameter averaging: an exponential moving average (EMA) of the weights over training steps.

The averaged weights are the ones scored on the dev set and saved, as spaCy averages its
parameters: they sit in a flatter region than the last step's and lose less to the noise of the
final updates. Only the trained parameters are averaged; frozen ones and buffers are shared.
"""

from __future__ import annotations

import contextlib
from typing import Dict, Iterator, List, Sequence, Tuple

import torch


class WeightAverage:
    """An EMA of ``params``: ``average <- average + (1 - d) * (param - average)`` after each step.

    ``d = min(decay, (1 + t) / (10 + t))`` at update ``t``, so early averages are not dominated
    by the random initial weights (the warm-up TensorFlow's and spaCy's averages use).
    """

    def __init__(self, named_params: Sequence[Tuple[str, torch.Tensor]], decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.names = [name for name, _ in named_params]
        self.params = [param for _, param in named_params]
        self.decay = decay
        self.updates = 0
        self.averages: List[torch.Tensor] = [param.detach().clone() for param in self.params]

    def update(self) -> None:
        """Moves the average towards the parameters' present values."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        with torch.no_grad():
            torch._foreach_lerp_(self.averages, [param.detach() for param in self.params], 1.0 - decay)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """The parameters hold the averages inside the block, and their own values again after it."""
        with torch.no_grad():
            own = [param.detach().clone() for param in self.params]
            for param, average in zip(self.params, self.averages):
                param.copy_(average)
        try:
            yield
        finally:
            with torch.no_grad():
                for param, value in zip(self.params, own):
                    param.copy_(value)

    def state_tensors(self) -> Dict[str, torch.Tensor]:
        """The averages by parameter name (for a checkpoint)."""
        return dict(zip(self.names, self.averages))

    def load(self, averages: Dict[str, torch.Tensor], updates: int) -> None:
        """Restores averages saved by :meth:`state_tensors` (names and shapes already checked)."""
        with torch.no_grad():
            for name, average in zip(self.names, self.averages):
                average.copy_(averages[name])
        self.updates = updates
