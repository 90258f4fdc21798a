"""bench/accuracy.py's summary: mean ± sample std over seeds, and the README table it rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.accuracy import README_END, README_START, markdown_table, summarise, write_readme_table


def record(task: str, seed: int, dev: float, test: float | None = None) -> dict:
    return {
        "task": task,
        "variant": "reference",
        "seed": seed,
        "dev_score": dev,
        "test_score": test,
        "best_epoch": 10 + seed,
        "train_minutes": 2.0 * seed,
        "reload_identical": True,
    }


def test_summary_gives_the_mean_and_sample_std_over_seeds() -> None:
    rows = summarise([record("conll2003", 1, 0.94), record("conll2003", 2, 0.95), record("conll2003", 3, 0.96), record("wnut17", 1, 0.5)])
    assert [row["task"] for row in rows] == ["CoNLL-2003 NER (F1)", "WNUT-17 NER (F1)"]
    assert rows[0]["dev"] == "95.00 ± 1.00"
    assert rows[0]["per seed"] == "94.00, 95.00, 96.00"
    assert rows[0]["test"] == "-" and rows[0]["minutes"] == "4.0" and rows[0]["best epoch"] == "11, 12, 13"
    assert rows[1]["dev"] == "50.00"


def test_test_scores_appear_only_when_every_seed_has_one() -> None:
    assert summarise([record("wnut17", 1, 0.5, 0.4), record("wnut17", 2, 0.5, 0.42)])[0]["test"] == "41.00 ± 1.41"
    assert summarise([record("wnut17", 1, 0.5, 0.4), record("wnut17", 2, 0.5)])[0]["test"] == "-"


def test_readme_table_replaces_only_the_text_between_the_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{README_START}\nold table\n{README_END}\nafter\n", encoding="utf-8")
    rows = summarise([record("conll2003", 1, 0.9452)])
    write_readme_table(readme, rows, "python bench/accuracy.py --seeds 1")
    text = readme.read_text(encoding="utf-8")
    assert "old table" not in text and text.startswith("# title\n\nbefore\n") and text.endswith(f"{README_END}\nafter\n")
    assert markdown_table(rows) in text and "**94.52**" in text and "`python bench/accuracy.py --seeds 1`" in text


def test_readme_without_markers_is_left_alone(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="markers"):
        write_readme_table(readme, summarise([record("wnut17", 1, 0.5)]), "cmd")
    assert readme.read_text(encoding="utf-8") == "no markers\n"
