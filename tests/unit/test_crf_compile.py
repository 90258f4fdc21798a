"""The CRF under torch.compile on the CPU: one graph (fullgraph, no breaks), the eager results.

This is what the GPU work (CUDA graphs, ``mode="reduce-overhead"``) builds on; inductor on the
CPU compiles C++, so the shapes are kept small.
"""

import pytest
import torch

from tagger.crf import CRF

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning", "ignore::FutureWarning")


def _inputs(batch: int = 3, seq_len: int = 5, num_tags: int = 4):
    generator = torch.Generator().manual_seed(0)
    emissions = torch.randn(batch, seq_len, num_tags, generator=generator)
    lengths = torch.tensor([seq_len, 2, seq_len - 1])
    mask = torch.arange(seq_len)[None, :] < lengths[:, None]
    tags = torch.randint(0, num_tags, (batch, seq_len), generator=generator) * mask
    return emissions, mask, tags


@pytest.mark.parametrize("constrained", [False, True])
def test_compiled_crf_matches_eager(constrained):
    torch._dynamo.reset()
    crf = CRF(4)
    if constrained:
        allowed = [[(i, j) not in {(0, 1), (2, 3)} for j in range(4)] for i in range(4)]
        crf = CRF(4, constraints=([True, True, False, True], allowed, [True] * 4))
    with torch.no_grad():
        crf.transitions.normal_(generator=torch.Generator().manual_seed(1))
    emissions, mask, tags = _inputs()

    leaf = emissions.clone().requires_grad_(True)
    eager = crf.nll(leaf, tags, mask)
    (eager_grad,) = torch.autograd.grad(eager, leaf)
    leaf = emissions.clone().requires_grad_(True)
    compiled = torch.compile(lambda e, y, m: crf.nll(e, y, m), fullgraph=True, dynamic=False)(leaf, tags, mask)
    (compiled_grad,) = torch.autograd.grad(compiled, leaf)
    torch.testing.assert_close(compiled, eager)
    torch.testing.assert_close(compiled_grad, eager_grad)

    best, scores = torch.compile(crf.viterbi_tensor, fullgraph=True, dynamic=False)(emissions, mask)
    eager_best, eager_scores = crf.viterbi_tensor(emissions, mask)
    assert torch.equal(best, eager_best)
    torch.testing.assert_close(scores, eager_scores)
