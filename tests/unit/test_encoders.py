"""SharedDropout, the character encoders and the word encoder's packing."""

import torch

from tagger.encoders import CharCNN, CharLSTM, SharedDropout, WordEncoder
from tests.rnn_reference import packed_reference


def test_shared_dropout_uses_one_mask_per_sequence():
    torch.manual_seed(0)
    dropout = SharedDropout(0.5).train()
    out = dropout(torch.ones(64, 7, 20))
    assert torch.equal(out, out[:, :1].expand_as(out)), "every position of a sequence shares the mask"
    assert set(out.unique().tolist()) == {0.0, 2.0}
    assert 0.4 < (out == 0).float().mean().item() < 0.6
    assert torch.equal(dropout.eval()(torch.ones(2, 3, 4)), torch.ones(2, 3, 4))


def test_token_dropout_uses_a_mask_per_position():
    torch.manual_seed(0)
    out = SharedDropout(0.5, shared=False).train()(torch.ones(64, 7, 20))
    assert not torch.equal(out, out[:, :1].expand_as(out))


def test_char_encoders_ignore_padding_and_zero_the_empty_form():
    torch.manual_seed(0)
    chars = torch.tensor([[2, 3, 0, 0], [2, 3, 4, 5], [0, 0, 0, 0]])
    lengths = torch.tensor([2, 4, 0])
    for encoder in (CharCNN(6, 4, 8, 3, 0.0), CharLSTM(6, 4, 8, 0.0)):
        encoder.eval()
        out = encoder(chars, lengths)
        assert out.shape == (3, 8)
        assert torch.allclose(out[0], encoder(chars[:1, :2], lengths[:1])[0], atol=1e-6)
        assert torch.equal(out[2], torch.zeros(8))


def test_word_encoder_sorted_unsorted_and_unpadded_batches_agree():
    torch.manual_seed(0)
    encoder = WordEncoder("gru", 5, 4, 2, True, 0.0).eval()
    x = torch.randn(3, 6, 5)
    descending = encoder(x, torch.tensor([6, 4, 2]))
    shuffled = encoder(x[[2, 0, 1]], torch.tensor([2, 6, 4]))
    assert torch.allclose(descending, shuffled[[1, 2, 0]], atol=1e-6)
    assert torch.equal(descending[1, 4:], torch.zeros(2, 8))
    full = encoder(x, torch.tensor([6, 6, 6]))
    assert torch.allclose(full[0], descending[0], atol=1e-6)


def test_word_encoder_equals_a_packed_bidirectional_rnn_with_the_same_weights():
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    for cell in ("lstm", "gru", "rnn"):
        encoder = WordEncoder(cell, 5, 4, 2, True, 0.0).eval()
        reference = packed_reference(encoder, cell).eval()
        x = torch.randn(3, 7, 5)
        lengths = torch.tensor([7, 3, 5])
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        expected, _ = pad_packed_sequence(reference(packed)[0], batch_first=True, total_length=7)
        assert torch.allclose(encoder(x, lengths), expected, atol=1e-5), cell
