"""A tiny random BERT encoder (2 layers, 16 dims) with a fast WordPiece tokenizer, written to a temporary
directory from ``BertConfig`` and the ``tokenizers`` library: no download, a fraction of a second."""

from __future__ import annotations

from pathlib import Path

import pytest

LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
WHOLE_WORDS = ["john", "smith", "lives", "in", "paris", "the", "european", "said", "on", "london", "and", "rome", "."]


def make_encoder(directory: Path, *, max_positions: int = 64, seed: int = 0, hidden_size: int = 16) -> Path:
    """Writes a random 2-layer BERT and its fast tokenizer (lowercasing WordPiece) to ``directory``."""
    pytest.importorskip("transformers", reason="the contextual features need transformers: pip install tagger[transformers]")
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", *LETTERS, *(f"##{c}" for c in LETTERS), *WHOLE_WORDS, ",", "-"]
    ids = {token: i for i, token in enumerate(dict.fromkeys(vocab))}
    tokenizer = Tokenizer(models.WordPiece(ids, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        model_max_length=max_positions,
    )
    fast.save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(ids),
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=max_positions,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        BertModel(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of a tiny random encoder of 64 positions."""
    return make_encoder(tmp_path_factory.mktemp("encoder"))


@pytest.fixture(scope="session")
def short_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny encoder of only 12 positions (10 sub-tokens per window), for sentences split into windows."""
    return make_encoder(tmp_path_factory.mktemp("short-encoder"), max_positions=12)
