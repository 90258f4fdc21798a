"""Scores predicted tags against gold tags: entity precision/recall/F1 (per type, micro and macro,
default conlleval-compatible or strict mode) and token accuracy. Prints nothing.

Entities are read by ``tagger.schemes.spans_from_tags`` in every scheme (IOB1, IOB2, IOBES,
BILOU) and counted by seqeval; see ``evaluate_tags`` for the two modes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Sequence, Tuple, Union

from tagger.errors import ConfigError
from tagger.schemes import normalize_scheme, spans_from_tags, tags_from_spans

MODES = ("default", "strict")


@dataclass
class TypeScores:
    """Scores of one entity type (or one tag for plain tagging)."""

    precision: float
    recall: float
    f1: float
    support: int


# Micro precision, recall, F1, macro precision, recall, F1, and the scores per type.
_Scores = Tuple[float, float, float, float, float, float, Dict[str, TypeScores]]


@dataclass
class EvaluationReport:
    """The result of an evaluation; numbers are fractions in [0, 1]."""

    precision: float  # micro-averaged over entities (over tokens for plain tags)
    recall: float
    f1: float
    accuracy: float  # token accuracy
    macro_precision: float
    macro_recall: float
    macro_f1: float
    per_type: Dict[str, TypeScores] = field(default_factory=dict)
    scheme: str = "plain"
    mode: str = "default"
    sentences: int = 0
    tokens: int = 0

    @property
    def main_score(self) -> float:
        """The score model selection uses: entity F1, or token accuracy for plain tags."""
        return self.accuracy if self.scheme == "plain" else self.f1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def format_table(self) -> str:
        """A seqeval-style table: one row per type, then the averages and the token accuracy."""
        name_width = max([12, *(len(name) for name in self.per_type)])
        header = f"{'':<{name_width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"
        rows = [header]
        for name, s in sorted(self.per_type.items()):
            rows.append(f"{name:<{name_width}} {s.precision * 100:9.2f} {s.recall * 100:9.2f} {s.f1 * 100:9.2f} {s.support:9d}")
        total = sum(s.support for s in self.per_type.values())
        rows.append("")
        rows.append(f"{'micro avg':<{name_width}} {self.precision * 100:9.2f} {self.recall * 100:9.2f} {self.f1 * 100:9.2f} {total:9d}")
        rows.append(
            f"{'macro avg':<{name_width}} {self.macro_precision * 100:9.2f} {self.macro_recall * 100:9.2f} "
            f"{self.macro_f1 * 100:9.2f} {total:9d}"
        )
        rows.append(f"{'accuracy':<{name_width}} {self.accuracy * 100:9.2f} {'':>9} {'':>9} {self.tokens:9d}")
        rows.append(f"({self.sentences} sentences, {self.tokens} tokens; scheme {self.scheme}, {self.mode} mode)")
        return "\n".join(rows)


def format_report(report: Union[EvaluationReport, Dict[str, Any]]) -> str:
    """A seqeval-style table for a report or its ``to_dict()`` form (as stored in meta.json).

    A stored form written by another version, which does not make a report, is shown as indented JSON.
    """
    if isinstance(report, EvaluationReport):
        return report.format_table()
    try:
        per_type = {name: TypeScores(**scores) for name, scores in report.get("per_type", {}).items()}
        return EvaluationReport(**{**report, "per_type": per_type}).format_table()
    except (TypeError, AttributeError):  # written by another version: show what is there
        return json.dumps(report, indent=2, sort_keys=True)


def _check_shapes(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(predicted):
        raise ValueError(f"expected {len(gold)} predicted sentences, got {len(predicted)}")
    for i, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: expected {len(g)} predicted tags, got {len(p)}")


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    correct = sum(g == p for gs, ps in zip(gold, predicted) for g, p in zip(gs, ps))
    total = sum(len(gs) for gs in gold)
    return correct / total if total else 0.0


def _plain_report(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], accuracy: float) -> _Scores:
    true_pos: Counter[str] = Counter()
    gold_count: Counter[str] = Counter()
    pred_count: Counter[str] = Counter()
    for gs, ps in zip(gold, predicted):
        gold_count.update(gs)
        pred_count.update(ps)
        true_pos.update(g for g, p in zip(gs, ps) if g == p)
    per_type = {}
    for tag in sorted(gold_count):
        precision = true_pos[tag] / pred_count[tag] if pred_count[tag] else 0.0
        recall = true_pos[tag] / gold_count[tag]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_type[tag] = TypeScores(precision, recall, f1, gold_count[tag])
    count = max(len(per_type), 1)
    macro_p, macro_r, macro_f1 = (sum(getattr(s, k) for s in per_type.values()) / count for k in ("precision", "recall", "f1"))
    return (accuracy, accuracy, accuracy, macro_p, macro_r, macro_f1, per_type)


def _as_iob2(tags: Sequence[str], scheme: str, strict: bool) -> List[str]:
    """The entities of one sentence, read in ``scheme``, written as IOB2 (which seqeval reads right)."""
    return tags_from_spans(spans_from_tags(tags, scheme, strict=strict), len(tags), "IOB2")


def _entity_report(gold: List[List[str]], predicted: List[List[str]], scheme: str, mode: str) -> _Scores:
    """Entity scores: spans read by ``tagger.schemes``, counted and averaged by seqeval.

    seqeval's default mode only knows B/I/E/S prefixes (it reads BILOU's L-/U- as neither begin
    nor end, so ``B-PER L-PER U-PER`` and ``B-PER I-PER L-PER`` came out equal), and its IOB1
    strict mode re-reads ill-formed fragments. Reading the spans here and handing seqeval valid
    IOB2 tags keeps its arithmetic (per-type, micro and macro averages, zero-division rules) for
    every scheme; for IOB1/IOB2/IOBES in default mode and IOB2/IOBES/BILOU in strict mode the
    result equals seqeval's own.
    """
    from seqeval import metrics

    strict = mode == "strict"
    gold_iob2 = [_as_iob2(tags, scheme, strict) for tags in gold]
    pred_iob2 = [_as_iob2(tags, scheme, strict) for tags in predicted]
    if not any(tag != "O" for tags in gold_iob2 + pred_iob2 for tag in tags):
        return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, {})  # seqeval warns and divides by zero without entities
    table = metrics.classification_report(gold_iob2, pred_iob2, output_dict=True, zero_division=0)
    per_type = {
        name: TypeScores(float(s["precision"]), float(s["recall"]), float(s["f1-score"]), int(s["support"]))
        for name, s in table.items()
        if not name.endswith(" avg")
    }
    micro, macro = table["micro avg"], table["macro avg"]
    return (
        float(micro["precision"]),
        float(micro["recall"]),
        float(micro["f1-score"]),
        float(macro["precision"]),
        float(macro["recall"]),
        float(macro["f1-score"]),
        per_type,
    )


def evaluate_tags(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str, mode: str = "default"
) -> EvaluationReport:
    """Scores ``predicted`` against ``gold`` (lists of tag lists of equal shapes).

    Ill-formed sequences (``O I-PER`` in IOB2, ``B-PER O`` in IOBES) are read as conlleval reads
    them in ``default`` mode: an inside or end tag that cannot continue the open entity starts a
    new one, so every non-``O`` tag belongs to some entity. In ``strict`` mode the same entities
    are read but only well-formed ones count (IOB2 ``B I*``; IOB1 ``I I*``, or ``B I*`` right
    after an entity of its type; IOBES ``S`` or ``B I* E``; BILOU ``U`` or ``B I* L``), as in
    seqeval's strict mode. Valid sequences score the same in both modes.

    Args:
        gold: Gold tags, one list per sentence.
        predicted: Predicted tags, of the same shapes.
        scheme: The tags' scheme; ``plain`` scores tokens (POS), any other scores entities.
        mode: ``default`` (conlleval-compatible) or ``strict``.

    Returns:
        The report.

    Raises:
        ConfigError: Unknown mode or scheme.
        ValueError: The shapes differ.
        InvalidTagSequence: A tag is neither ``O`` nor PREFIX-TYPE.
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    scheme = normalize_scheme(scheme)
    _check_shapes(gold, predicted)
    gold_lists = [list(g) for g in gold]
    pred_lists = [list(p) for p in predicted]
    accuracy = token_accuracy(gold_lists, pred_lists)
    if scheme == "plain":
        scores = _plain_report(gold_lists, pred_lists, accuracy)
    elif not any(gold_lists):
        scores = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, {})
    else:
        scores = _entity_report(gold_lists, pred_lists, scheme, mode)
    precision, recall, f1, macro_p, macro_r, macro_f1, per_type = scores
    return EvaluationReport(
        precision=precision,
        recall=recall,
        f1=f1,
        accuracy=accuracy,
        macro_precision=macro_p,
        macro_recall=macro_r,
        macro_f1=macro_f1,
        per_type=per_type,
        scheme=scheme,
        mode=mode,
        sentences=len(gold_lists),
        tokens=sum(len(g) for g in gold_lists),
    )
