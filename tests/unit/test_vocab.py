"""Vocab and WordVocab: reserved ids, fallbacks, JSON-able lists."""

from collections import Counter

import pytest

from tagger.vocab import PAD, UNK, UNK_ID, Vocab, WordVocab, build_char_vocab, label_vocab


def test_from_counts_orders_by_frequency_and_applies_min_count():
    vocab = Vocab.from_counts(Counter({"b": 3, "a": 3, "c": 1, "d": 5}), min_count=2, keep=["c"])
    assert vocab.items == [PAD, UNK, "d", "a", "b", "c"]
    assert vocab.index("zzz") == UNK_ID
    assert vocab.decode(vocab.encode(["a", "d"])) == ["a", "d"]


def test_reserved_vocab_must_start_with_pad_unk():
    with pytest.raises(ValueError, match="starts with"):
        Vocab(["a", "b"])
    with pytest.raises(ValueError, match="duplicate"):
        Vocab([PAD, UNK, "a", "a"])


def test_labels_have_no_unknown():
    labels = label_vocab(["O", "B-PER"])
    assert labels.encode(["B-PER", "O"]) == [1, 0]
    with pytest.raises(KeyError):
        labels.index("I-PER")


def test_word_vocab_falls_back_to_lower_then_digits():
    vocab = WordVocab([PAD, UNK, "paris", "0000", "Berlin"])
    assert vocab.encode(["Paris", "PARIS", "1996", "Berlin", "berlin", "nowhere"]) == [2, 2, 3, 4, UNK_ID, UNK_ID]
    assert vocab.index("2024") == 3


def test_char_vocab():
    chars = build_char_vocab(["ab", "ba", "c"])
    assert set(chars.items[2:]) == {"a", "b", "c"}


def test_lowercase_word_vocab():
    vocab = WordVocab([PAD, UNK, "paris", "0000"], lowercase=True)
    assert vocab.encode(["Paris", "PARIS", "paris", "1996", "Rome"]) == [2, 2, 2, 3, UNK_ID]


@pytest.mark.parametrize("items", [[PAD, UNK, 3], [PAD, UNK, None], [PAD, UNK, ["a"]]])
def test_entries_must_be_strings(items):
    with pytest.raises(TypeError, match="entry 2 is not a string"):
        Vocab(items)
    with pytest.raises(TypeError, match="not a string"):
        label_vocab(items[2:])
