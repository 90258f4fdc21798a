"""Tests for tagger.wordforms: the fallback keys shared by embedding lookup and vocabulary lookup."""

from __future__ import annotations

import pytest

from tagger.wordforms import lookup_forms, normalise_digits


@pytest.mark.parametrize(
    "word, expected",
    [
        ("paris", ("paris",)),
        ("Paris", ("Paris", "paris")),
        ("PARIS", ("PARIS", "paris")),
        ("1999", ("1999", "0000")),
        ("Year1999", ("Year1999", "year1999", "year0000")),
        ("a0", ("a0",)),
        ("A0", ("A0", "a0")),
        ("3.14", ("3.14", "0.00")),
        (",", (",",)),
        ("", ("",)),
        # Unicode decimal digits (category Nd) become "0" too: Arabic-Indic, Devanagari, fullwidth.
        ("٣٤", ("٣٤", "00")),
        ("Q१", ("Q१", "q१", "q0")),
        ("Ｘ９", ("Ｘ９", "ｘ９", "ｘ0")),
    ],
)
def test_lookup_forms_order_and_dedup(word: str, expected: tuple[str, ...]) -> None:
    assert lookup_forms(word) == expected


def test_non_decimal_digits_are_kept() -> None:
    # Superscripts and Roman numerals are numeric but not decimal digits: they stay as they are.
    assert lookup_forms("x²") == ("x²",)
    assert lookup_forms("Ⅻ") == ("Ⅻ", "ⅻ")


def test_first_form_is_the_word_and_forms_are_distinct() -> None:
    for word in ["Hello", "hello", "H3llo", "h3llo", "ÉTÉ", "Straße", "İstanbul", "2024-01-05"]:
        forms = lookup_forms(word)
        assert forms[0] == word
        assert len(set(forms)) == len(forms)
        assert 1 <= len(forms) <= 3


def test_normalise_digits() -> None:
    assert normalise_digits("12:30 ٣") == "00:00 0"
    assert normalise_digits("no digits") == "no digits"
