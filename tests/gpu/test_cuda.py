"""The tagger on a CUDA GPU: the padded encoder against cuDNN's packed RNNs, the CRF against the
CPU, training with and without mixed precision, and models moving between GPU and CPU.

These tests need a GPU and are skipped, with that reason, where there is none (as in CI).
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from click.testing import CliRunner

import tagger
from tagger.crf import CRF
from tagger.encoders import WordEncoder
from tests.model.toy import TINY, toy_dataset
from tests.rnn_reference import packed_reference

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
CUDA = torch.device("cuda")


def _gold(dd) -> list:
    names = dd["train"].features["ner_tags"].feature
    return [[names.int2str(i) for i in row] for row in dd["train"]["ner_tags"]]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_padded_encoder_equals_cudnn_packed_rnn_forward_and_backward(cell, monkeypatch):
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    # TF32 (cuDNN's default on Ampere and later) rounds differently in the two kernels: ~5e-4 apart.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    torch.manual_seed(0)
    # Training mode (no dropout is set): cuDNN computes RNN gradients only there.
    encoder = WordEncoder(cell, 12, 16, 2, True, 0.0).to(CUDA).train()
    reference = packed_reference(encoder, cell).train()
    lengths = torch.tensor([30, 29, 17, 17, 5, 1])
    x = torch.randn(6, 30, 12, device=CUDA, requires_grad=True)
    ours = encoder(x, lengths)
    packed = pack_padded_sequence(x, lengths, batch_first=True)
    expected, _ = pad_packed_sequence(reference(packed)[0], batch_first=True, total_length=30)
    assert torch.allclose(ours, expected, atol=1e-4), (ours - expected).abs().max().item()
    (grad_ours,) = torch.autograd.grad(ours.square().sum(), x)
    (grad_expected,) = torch.autograd.grad(expected.square().sum(), x)
    assert torch.allclose(grad_ours, grad_expected, atol=1e-3), (grad_ours - grad_expected).abs().max().item()


def test_crf_on_gpu_equals_crf_on_cpu():
    torch.manual_seed(0)
    crf = CRF(9)
    emissions = torch.randn(64, 40, 9)
    lengths = torch.randint(1, 41, (64,))
    mask = torch.arange(40).unsqueeze(0) < lengths.unsqueeze(1)
    tags = torch.randint(0, 9, (64, 40))
    cpu_nll = crf.nll(emissions, tags, mask, reduction="none")
    cpu_best, cpu_scores = crf.viterbi_tensor(emissions, mask)
    gpu = crf.to(CUDA)
    gpu_nll = gpu.nll(emissions.to(CUDA), tags.to(CUDA), mask.to(CUDA), reduction="none")
    gpu_best, gpu_scores = gpu.viterbi_tensor(emissions.to(CUDA), mask.to(CUDA))
    assert torch.allclose(gpu_nll.cpu(), cpu_nll, rtol=1e-4, atol=1e-3)
    assert torch.equal(gpu_best.cpu(), cpu_best)
    assert torch.allclose(gpu_scores.cpu(), cpu_scores, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("mixed_precision", [False, True])
def test_trains_on_gpu_and_the_model_tags_alike_on_cpu(tmp_path, mixed_precision):
    dd = toy_dataset()
    model = tagger.train(
        dd,
        "ner_tags",
        tmp_path / "m",
        device="cuda",
        mixed_precision=mixed_precision,
        max_epochs=60,
        patience=60,
        log=lambda _: None,
        **TINY,
    )
    assert model.device.type == "cuda"
    losses = [json.loads(line)["loss"] for line in (tmp_path / "m" / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 60 and all(math.isfinite(loss) for loss in losses) and losses[-1] < losses[0] / 10
    gold = _gold(dd)
    assert model.predict(dd["train"]["tokens"]) == gold
    on_cpu = tagger.Tagger.load(tmp_path / "m", device="cpu")
    assert on_cpu.predict(dd["train"]["tokens"]) == gold
    amp = tagger.Tagger.load(tmp_path / "m", device="cuda", mixed_precision=True)
    assert amp.predict(dd["train"]["tokens"]) == gold


def test_mixed_precision_tagging_agrees_with_full_precision(tmp_path):
    dd = toy_dataset()
    tagger.train(dd, "ner_tags", tmp_path / "m", device="cpu", max_epochs=60, patience=60, log=lambda _: None, **TINY)
    full = tagger.Tagger.load(tmp_path / "m", device="cuda")
    amp = tagger.Tagger.load(tmp_path / "m", device="cuda", mixed_precision=True)
    sentences = list(dd["train"]["tokens"]) * 50
    assert amp.predict(sentences, batch_size=1024) == full.predict(sentences, batch_size=1024)


def test_cli_tags_on_the_gpu(tmp_path):
    from tagger.cli.main import cli

    dd = toy_dataset()
    tagger.train(dd, "ner_tags", tmp_path / "m", device="cpu", max_epochs=60, patience=60, log=lambda _: None, **TINY)
    text = tmp_path / "in.txt"
    text.write_text("John Smith lives in Paris .\n", encoding="utf-8")
    for flag in ("--full-precision", "--mixed-precision"):
        result = CliRunner().invoke(cli, ["tag", str(text), "--model", str(tmp_path / "m"), "--device", "cuda", "--output", "inline", flag])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == "[PER John Smith] lives in [LOC Paris] ."
