"""WeightAverage: the EMA it keeps, checked against the recurrence written out by hand."""

from __future__ import annotations

import pytest
import torch

from tagger.averaging import WeightAverage


def test_average_follows_the_warmed_up_recurrence() -> None:
    param = torch.nn.Parameter(torch.zeros(3))
    average = WeightAverage([("w", param)], decay=0.9)
    expected = torch.zeros(3)
    for t, value in enumerate([1.0, 2.0, 4.0, -1.0, 3.0] * 4, start=1):
        with torch.no_grad():
            param.fill_(value)
        average.update()
        decay = min(0.9, (1 + t) / (10 + t))
        expected = decay * expected + (1 - decay) * value
        torch.testing.assert_close(average.averages[0], expected)
    assert average.updates == 20


def test_applied_swaps_the_averages_in_and_restores_the_weights() -> None:
    model = torch.nn.Linear(2, 2)
    frozen = torch.nn.Parameter(torch.ones(2), requires_grad=False)
    own = {k: v.clone() for k, v in model.state_dict().items()}
    average = WeightAverage(list(model.named_parameters()), decay=0.5)
    with torch.no_grad():
        model.weight.add_(1.0)
    average.update()
    with average.applied():
        torch.testing.assert_close(model.weight, average.averages[0])
        assert not torch.equal(model.weight, own["weight"] + 1.0)
    torch.testing.assert_close(model.weight, own["weight"] + 1.0)
    assert torch.equal(frozen, torch.ones(2))


def test_applied_restores_the_weights_when_the_block_raises() -> None:
    model = torch.nn.Linear(2, 2)
    average = WeightAverage(list(model.named_parameters()), decay=0.5)
    with torch.no_grad():
        model.bias.fill_(7.0)
    with pytest.raises(KeyboardInterrupt), average.applied():
        raise KeyboardInterrupt
    assert torch.equal(model.bias, torch.full((2,), 7.0))


def test_decay_outside_the_open_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="decay"):
        WeightAverage([], decay=1.0)
