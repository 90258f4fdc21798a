"""FormTable, make_batch and bucketing."""

import random
from typing import List

import numpy as np

from tagger.batching import CASE_CLASSES, FormTable, bucketed_batches, case_class, encode_sentence, make_batch
from tagger.tagging import TokenChunk
from tagger.vocab import PAD, UNK, UNK_ID, Vocab, WordVocab


def test_form_table_character_ids_match_the_vocabulary():
    chars = Vocab([PAD, UNK, "a", "b", "é", "😀"])
    table = FormTable(chars, max_word_length=6)
    ids = table.encode(["ab", "bé", "ab", "x😀", "abababab"])
    assert ids == [1, 2, 1, 3, 4]
    matrix, lengths, case = table.arrays()
    assert lengths.tolist() == [0, 2, 2, 2, 6]
    assert matrix[1, :2].tolist() == [2, 3]
    assert matrix[2, :2].tolist() == [3, 4]
    assert matrix[3, :2].tolist() == [UNK_ID, 5]
    assert matrix[4].tolist() == [2, 3, 2, 3, 2, 3]  # first and last three characters of a long form
    assert (matrix[0] == 0).all() and case[0] == 0


def test_case_classes():
    names = {word: CASE_CLASSES[case_class(word)] for word in ["1996", "12a3", "paris", "EU", "Paris", "b2b", "-"]}
    assert names == {
        "1996": "numeric",
        "12a3": "mainly_numeric",
        "paris": "lower",
        "EU": "upper",
        "Paris": "initial_upper",
        "b2b": "lower",
        "-": "other",
    }


def test_make_batch_pads_and_uses_only_its_forms():
    chars = Vocab([PAD, UNK, "a", "b", "c"])
    words = WordVocab([PAD, UNK, "a", "b"])
    table = FormTable(chars)
    first = encode_sentence(["a", "b", "c"], words, table, [1, 2, 0])
    encode_sentence(["unused"], words, table)
    second = encode_sentence(["b"], words, table, [2])
    batch = make_batch([first, second], table)
    assert batch.words.tolist() == [[2, 3, UNK_ID], [3, 0, 0]]
    assert batch.mask.tolist() == [[True, True, True], [True, False, False]]
    assert batch.tags.tolist() == [[1, 2, 0], [2, 0, 0]]
    assert batch.form_chars.shape[0] == 4  # the empty form plus a, b, c (not "unused")
    chars_of = batch.form_chars[batch.forms]
    assert chars_of[0, 2, 0].item() == 4 and chars_of[1, 1].sum().item() == 0


def test_bucketed_batches_cover_every_sentence_once():
    rng = random.Random(1)
    lengths = [rng.randint(1, 50) for _ in range(103)]
    batches = bucketed_batches(lengths, 10, random.Random(0))
    flat = sorted(i for batch in batches for i in batch)
    assert flat == list(range(103)) and max(len(b) for b in batches) == 10

    def spread(groups):
        return np.mean([max(lengths[i] for i in g) - min(lengths[i] for i in g) for g in groups])

    unsorted = [list(range(i, min(i + 10, 103))) for i in range(0, 103, 10)]
    assert spread(batches) < 8 < 30 < spread(unsorted)


def test_token_chunk_batches_equal_make_batch_of_encoded_sentences():
    """The engines' vectorised batching gives the ids the per-sentence encoding gives, empty tokens and sentences included."""
    chars = Vocab([PAD, UNK, "a", "b", "c", "1"])
    words = WordVocab([PAD, UNK, "a", "b", "c0"], lowercase=True)
    rng = random.Random(3)
    pool = ["a", "B", "c1", "C7", "", "ab", "zz", "A"]
    sentences = [[rng.choice(pool) for _ in range(rng.randint(0, 9))] for _ in range(60)]
    chunk = TokenChunk(sentences, FormTable(chars))
    form_words = chunk.word_ids(words)
    reference_forms = FormTable(chars)
    encoded = [encode_sentence(tokens, words, reference_forms) for tokens in sentences]
    seen: List[int] = []
    for indices, lengths, forms, mask in chunk.batches(batch_size=7):
        assert lengths.tolist() == sorted(lengths.tolist(), reverse=True)
        reference = make_batch([encoded[i] for i in indices])
        assert np.array_equal(forms, reference.forms.numpy())
        assert np.array_equal(np.where(mask, form_words[forms], 0), reference.words.numpy())
        assert np.array_equal(mask, reference.mask.numpy()) and np.array_equal(lengths, reference.lengths.numpy())
        seen.extend(indices)
    assert sorted(seen) == [i for i, tokens in enumerate(sentences) if tokens]
    assert chunk.forms.forms == reference_forms.forms
