"""The word-form fallback keys shared by pretrained-vector lookup and the tagger's vocabulary lookup.

Both the embedding-matrix builder (``tagger.embeddings``) and inference resolve a token through
:func:`lookup_forms`, so a word that found a pretrained row at training time is looked up the same
way when tagging.
"""

from __future__ import annotations

import re

# In a str pattern `\d` matches every Unicode decimal digit (category Nd), not just ASCII 0-9.
_DIGIT = re.compile(r"\d")


def normalise_digits(text: str) -> str:
    """Replace every Unicode decimal digit in ``text`` with ``"0"`` (``"1,5"`` -> ``"0,0"``)."""
    return _DIGIT.sub("0", text)


def lookup_forms(word: str) -> tuple[str, ...]:
    """The keys to try for ``word``, best first, without duplicates.

    The order is: the exact form, its lowercase form, then the lowercase form with every Unicode
    decimal digit replaced by ``"0"``. Forms equal to an earlier one are left out, so
    ``lookup_forms("paris") == ("paris",)`` and ``lookup_forms("A1") == ("A1", "a1", "a0")``.

    Args:
        word: A token as it appears in the text.

    Returns:
        One to three distinct strings; the first is always ``word`` itself.
    """
    lower = word.lower()
    digits = normalise_digits(lower)
    forms = [word]
    if lower != word:
        forms.append(lower)
    if digits != lower and digits != word:
        forms.append(digits)
    return tuple(forms)
