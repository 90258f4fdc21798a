"""evaluate_tags against hand-made counts, an independent conlleval reading and seqeval."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import f1_score

from tagger.evaluation import evaluate_tags, format_report


def test_entity_scores_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    report = evaluate_tags(gold, pred, "IOB2")
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(2 / 3)
    assert report.per_type["PER"].f1 == 1.0
    assert report.per_type["LOC"].recall == 0.0 and report.per_type["LOC"].support == 1
    assert report.accuracy == pytest.approx(5 / 6)
    assert report.f1 == pytest.approx(f1_score(gold, pred))
    assert json.loads(report.to_json())["f1"] == pytest.approx(report.f1)
    assert "micro avg" in report.format_table()


def test_default_mode_accepts_i_start_strict_mode_does_not():
    gold = [["B-PER", "I-PER"]]
    pred = [["I-PER", "I-PER"]]
    assert evaluate_tags(gold, pred, "IOB2").f1 == 1.0
    assert evaluate_tags(gold, pred, "IOB2", mode="strict").f1 == 0.0


def test_plain_tags_use_token_accuracy():
    report = evaluate_tags([["NOUN", "VERB", "NOUN"]], [["NOUN", "NOUN", "NOUN"]], "plain")
    assert report.accuracy == pytest.approx(2 / 3) and report.main_score == report.accuracy
    assert report.per_type["NOUN"].precision == pytest.approx(2 / 3)
    assert report.per_type["VERB"].recall == 0.0


def test_shape_mismatch():
    with pytest.raises(ValueError, match="sentence 0"):
        evaluate_tags([["O", "O"]], [["O"]], "IOB2")


# ----------------------------------------------------------------------------- every scheme through spans


def conlleval_chunks(tags: list[str]) -> set[tuple[str, int, int]]:
    """Chunks as conlleval.pl reads them (its startOfChunk/endOfChunk), BILOU's L/U as E/S.

    Written from the Perl script, independently of tagger.schemes, as the oracle for default mode.
    """
    role = {"L": "E", "U": "S"}
    chunks = set()
    prev_tag, prev_type, start = "O", "", None
    for i, tag in enumerate([*tags, "O"]):
        kind, typ = ("O", "") if tag == "O" else (role.get(tag[0], tag[0]), tag[2:])
        end = prev_tag in ("E", "S") or (prev_tag in ("B", "I") and kind in ("B", "S", "O")) or (prev_tag != "O" and prev_type != typ)
        begin = (
            kind in ("B", "S")
            or (prev_tag in ("E", "S") and kind in ("E", "I"))
            or (prev_tag == "O" and kind in ("E", "I"))
            or (kind != "O" and prev_type != typ)
        )
        if end and start is not None:
            chunks.add((prev_type, start, i))
            start = None
        if begin:
            start = i
        prev_tag, prev_type = kind, typ
    return chunks


def expected_f1(gold: list[list[str]], predicted: list[list[str]]) -> float:
    """Micro F1 over conlleval chunks, counted here."""
    gold_chunks = {(n, *c) for n, tags in enumerate(gold) for c in conlleval_chunks(tags)}
    pred_chunks = {(n, *c) for n, tags in enumerate(predicted) for c in conlleval_chunks(tags)}
    correct = len(gold_chunks & pred_chunks)
    if not correct:
        return 0.0
    precision, recall = correct / len(pred_chunks), correct / len(gold_chunks)
    return 2 * precision * recall / (precision + recall)


# (scheme, gold, predicted, gold entities, predicted entities, correct), counted by hand.
HAND_COUNTS = [
    ("BILOU", ["B-PER", "L-PER", "U-PER"], ["B-PER", "I-PER", "L-PER"], 2, 1, 0),  # the reported F1 = 1.0
    ("BILOU", ["U-PER", "O", "B-LOC", "I-LOC", "L-LOC"], ["U-PER", "O", "B-LOC", "L-LOC", "O"], 2, 2, 1),
    ("BILOU", ["U-PER", "U-PER"], ["B-PER", "L-PER"], 2, 1, 0),
    ("IOBES", ["B-PER", "E-PER", "S-PER"], ["B-PER", "I-PER", "E-PER"], 2, 1, 0),
    ("IOBES", ["S-LOC", "B-ORG", "E-ORG"], ["S-LOC", "B-ORG", "E-ORG"], 2, 2, 2),
    ("IOB2", ["B-PER", "B-PER", "I-PER"], ["B-PER", "I-PER", "I-PER"], 2, 1, 0),
    ("IOB2", ["B-PER", "I-PER", "O", "B-LOC"], ["B-PER", "I-PER", "O", "B-ORG"], 2, 2, 1),
    ("IOB1", ["I-PER", "B-PER", "O"], ["I-PER", "I-PER", "O"], 2, 1, 0),
    ("IOB1", ["I-PER", "I-PER", "O", "I-LOC"], ["I-PER", "I-PER", "O", "I-LOC"], 2, 2, 2),
]


@pytest.mark.parametrize("scheme, gold, predicted, n_gold, n_pred, correct", HAND_COUNTS)
def test_entity_counts_by_hand_in_every_scheme(scheme, gold, predicted, n_gold, n_pred, correct):
    report = evaluate_tags([gold], [predicted], scheme)
    precision, recall = correct / n_pred, correct / n_gold
    assert report.precision == pytest.approx(precision)
    assert report.recall == pytest.approx(recall)
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    assert report.f1 == pytest.approx(f1)
    assert report.f1 == pytest.approx(expected_f1([gold], [predicted]))


def test_bilou_early_stopping_score_sees_the_difference():
    report = evaluate_tags([["B-PER", "L-PER", "U-PER"]], [["B-PER", "I-PER", "L-PER"]], "BILOU")
    assert report.main_score == 0.0
    assert report.per_type["PER"].support == 2


PREFIXES = {"IOB1": "BI", "IOB2": "BI", "IOBES": "BIES", "BILOU": "BILU"}


def _sentences(scheme: str, draw_labels: bool = True):
    labels = ["O"] + [f"{p}-{t}" for p in PREFIXES[scheme] for t in ("PER", "LOC")]
    return st.lists(st.lists(st.sampled_from(labels), min_size=0, max_size=7), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(PREFIXES)), st.data())
def test_default_mode_matches_an_independent_conlleval_count(scheme, data):
    gold = data.draw(_sentences(scheme))
    predicted = [data.draw(st.permutations(tags)) for tags in gold]  # same lengths, shuffled tags
    assert evaluate_tags(gold, predicted, scheme).f1 == pytest.approx(expected_f1(gold, predicted))


def _seqeval_scores(gold, predicted, **kwargs):
    from seqeval.metrics import classification_report

    table = classification_report(gold, predicted, output_dict=True, zero_division=0, **kwargs)
    return {
        f"{name}/{key}": float(value)
        for name, s in table.items()
        if name != "weighted avg"
        for key, value in zip(("p", "r", "f1", "n"), (s["precision"], s["recall"], s["f1-score"], s["support"]))
    }


def _our_scores(report):
    rows = {name: (s.precision, s.recall, s.f1, s.support) for name, s in report.per_type.items()}
    support = sum(s.support for s in report.per_type.values())
    rows["micro avg"] = (report.precision, report.recall, report.f1, support)
    rows["macro avg"] = (report.macro_precision, report.macro_recall, report.macro_f1, support)
    return {f"{name}/{key}": float(value) for name, row in rows.items() for key, value in zip(("p", "r", "f1", "n"), row)}


def _has_entities(tags_lists, scheme, strict):
    from tagger.schemes import spans_from_tags

    return any(spans_from_tags(tags, scheme, strict=strict) for tags in tags_lists)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["IOB1", "IOB2", "IOBES"]), st.data())
def test_default_mode_equals_seqeval_where_seqeval_knows_the_prefixes(scheme, data):
    gold = data.draw(_sentences(scheme))
    predicted = [data.draw(st.permutations(tags)) for tags in gold]
    if not _has_entities(gold + predicted, scheme, False):
        return
    ours = _our_scores(evaluate_tags(gold, predicted, scheme))
    assert ours == pytest.approx(_seqeval_scores(gold, predicted))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["IOB2", "IOBES", "BILOU"]), st.data())
def test_strict_mode_equals_seqeval_strict(scheme, data):
    from seqeval import scheme as seqeval_schemes

    gold = data.draw(_sentences(scheme))
    predicted = [data.draw(st.permutations(tags)) for tags in gold]
    if not _has_entities(gold + predicted, scheme, True):
        return
    ours = _our_scores(evaluate_tags(gold, predicted, scheme, mode="strict"))
    assert ours == pytest.approx(_seqeval_scores(gold, predicted, mode="strict", scheme=getattr(seqeval_schemes, scheme)))


STRICT_TABLE = [
    # (scheme, tags, entities counted in strict mode)
    ("IOB2", ["O", "I-PER", "I-PER"], 0),
    ("IOB2", ["B-PER", "I-PER", "I-LOC"], 1),
    ("IOB1", ["B-PER", "I-PER"], 0),  # B- only after an entity of its type (seqeval strict counts 1 here)
    ("IOB1", ["I-PER", "B-PER", "I-PER"], 2),
    ("IOBES", ["B-PER", "I-PER", "O"], 0),
    ("IOBES", ["B-PER", "E-PER", "S-PER", "E-PER"], 2),
    ("BILOU", ["B-PER", "L-PER", "U-LOC", "E-LOC"], 2),  # E- is not a BILOU prefix
    ("BILOU", ["B-PER", "E-PER"], 0),
]


@pytest.mark.parametrize("scheme, tags, count", STRICT_TABLE)
def test_strict_mode_counts_only_well_formed_entities(scheme, tags, count):
    report = evaluate_tags([tags], [tags], scheme, mode="strict")
    assert sum(s.support for s in report.per_type.values()) == count
    assert report.f1 == (1.0 if count else 0.0)


def test_format_report_reads_a_report_or_its_stored_form():
    report = evaluate_tags([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]], "IOB2")
    assert format_report(report) == format_report(json.loads(report.to_json())) == report.format_table()
    assert "micro avg" in format_report(report)
    assert format_report({"f1": 0.5, "from": "another version"}) == json.dumps(
        {"f1": 0.5, "from": "another version"}, indent=2, sort_keys=True
    )
