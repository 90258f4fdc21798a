"""How well a tagger's confidence is calibrated: expected calibration error (ECE) of span scores and
of token marginals on a dev split, and a reliability plot.

    python bench/calibration.py --model runs/acc-/conll2003-reference-seed1
    python bench/calibration.py --model DIR --corpus wnut17 --plot runs/calibration/wnut17.png

Spans: every predicted span (``predict_spans(..., scores=True)``), with its score as confidence;
it is correct when the gold tags have exactly that span (label, start, end). Tokens: each token's
most probable label under the marginals (``predict_proba``), with its probability as confidence;
correct when it is the gold tag. ECE = sum over equal-width confidence bins of
(share of items in the bin) * |accuracy in the bin - mean confidence in the bin|. It prints one
JSON line and writes the plot (matplotlib's object API: no pyplot, no global backend change).
Not a timing benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def reliability(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> Dict[str, object]:
    """ECE and the per-bin counts, mean confidences and accuracies over ``bins`` equal-width bins of [0, 1].

    A confidence of exactly 1 falls in the last bin; a bin is (low, high], the first [0, high].
    """
    conf = np.asarray(confidence, dtype=np.float64)
    hits = np.asarray(correct, dtype=np.float64)
    if not len(conf):
        raise ValueError("no predictions to calibrate")
    which = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=bins) / counts
        accuracy = np.bincount(which, weights=hits, minlength=bins) / counts
    filled = counts > 0
    ece = float(np.sum(counts[filled] / len(conf) * np.abs(accuracy[filled] - mean_conf[filled])))
    return {
        "ece": ece,
        "count": int(len(conf)),
        "accuracy": float(hits.mean()),
        "mean_confidence": float(conf.mean()),
        "bins": {
            "count": counts.tolist(),
            "confidence": [None if not f else float(c) for f, c in zip(filled, mean_conf)],
            "accuracy": [None if not f else float(a) for f, a in zip(filled, accuracy)],
        },
    }


def score_split(
    model_dir: str, tokens: List[List[str]], gold: List[List[str]], engine: str, batch_size: int, bins: int = 10
) -> Tuple[dict, dict, dict]:
    """Span and token reliability of the model on one split, and its span precision/recall/F1 (a sanity check)."""
    import tagger
    from tagger.schemes import Span, spans_from_tags

    model = tagger.load(model_dir, engine=engine)
    labels = model.labels
    span_conf: List[float] = []
    span_hit: List[bool] = []
    token_conf: List[float] = []
    token_hit: List[bool] = []
    gold_count = 0
    for result, tags in zip(model.tag(tokens, batch_size, scores=True, probs=True), gold):
        truth = set(spans_from_tags(tags, model.scheme))
        gold_count += len(truth)
        for span in result.spans:
            assert span.score is not None
            span_conf.append(span.score)
            span_hit.append(Span(span.label, span.start, span.end) in truth)
        probs = np.asarray(result.probs, dtype=np.float64).reshape(len(tags), len(labels))
        best = probs.argmax(axis=1)
        token_conf.extend(probs[np.arange(len(tags)), best].tolist())
        token_hit.extend(labels[b] == tag for b, tag in zip(best.tolist(), tags))
    correct = sum(span_hit)
    precision, recall = correct / max(len(span_hit), 1), correct / max(gold_count, 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    prf = {"precision": precision, "recall": recall, "f1": f1}
    return reliability(span_conf, span_hit, bins), reliability(token_conf, token_hit, bins), prf


def plot(path: Path, panels: Sequence[Tuple[str, dict]], title: str) -> None:
    """Reliability diagrams side by side: accuracy per confidence bin against the diagonal, counts below."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5 * len(panels), 5.5), dpi=120)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(2, len(panels), height_ratios=(3, 1), hspace=0.08)
    for column, (name, result) in enumerate(panels):
        bins = result["bins"]
        edges = np.linspace(0, 1, len(bins["count"]) + 1)
        centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
        accuracy = [np.nan if a is None else a for a in bins["accuracy"]]
        confidence = [np.nan if c is None else c for c in bins["confidence"]]
        top = figure.add_subplot(grid[0, column])
        top.bar(centres, accuracy, width=width * 0.9, color="tab:blue", alpha=0.8, label="accuracy")
        top.plot(centres, confidence, "o", color="tab:red", markersize=4, label="mean confidence")
        top.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfect calibration")
        top.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy", title=f"{name}: ECE {result['ece']:.4f} (n = {result['count']:,})")
        top.tick_params(labelbottom=False)
        top.legend(loc="lower right", fontsize=8)
        bottom = figure.add_subplot(grid[1, column], sharex=top)
        bottom.bar(centres, bins["count"], width=width * 0.9, color="tab:grey")
        bottom.set(yscale="log", xlabel="confidence", ylabel="count")
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a trained model directory (or .onnx file)")
    parser.add_argument("--corpus", default="conll2003", help="a corpus tagger.corpora.load_corpus knows")
    parser.add_argument("--column", default="ner_tags")
    parser.add_argument("--split", default="validation")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("TAGGER_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    )
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--bins", type=int, default=10)
    parser.add_argument("--plot", type=Path, default=Path("runs/calibration/reliability.png"))
    args = parser.parse_args()
    if args.bins < 1:
        parser.error("--bins must be >= 1")

    from tagger import corpora
    from tagger.api import column_tags, column_values

    split = corpora.load_corpus(args.corpus, data_dir=args.data_dir)[args.split]
    tokens = column_values(split, "tokens")
    gold, _ = column_tags(split, args.column)
    spans, tokens_result, scores = score_split(args.model, tokens, gold, args.engine, args.batch_size, args.bins)
    record = {
        "model": args.model,
        "corpus": args.corpus,
        "split": args.split,
        "tokens": sum(len(t) for t in tokens),
        "span_ece": spans["ece"],
        "token_ece": tokens_result["ece"],
        "spans": spans,
        "token_marginals": tokens_result,
        "predicted_span_scores": scores,
        "plot": str(args.plot),
    }
    plot(args.plot, [("spans", spans), ("tokens (top marginal)", tokens_result)], f"{args.corpus} {args.split}: {Path(args.model).name}")
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
