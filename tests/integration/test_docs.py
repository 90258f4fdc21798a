"""docs/architecture.md and the README's layout paragraph name every module of the library."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def modules(*roots: str) -> list[str]:
    return sorted(f"{root}/{p.name}" for root in roots for p in (REPO / root).glob("*.py") if p.name not in ("__init__.py", "__main__.py"))


def test_architecture_names_every_module() -> None:
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert [m for m in modules("tagger", "corpora", "cli") if m not in doc and Path(m).stem not in doc] == []


def test_readme_layout_names_every_library_module() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("Layout (drawn") :]
    layout = layout[: layout.index("\n\n")]
    assert [m for m in modules("tagger") if f"`{Path(m).stem}`" not in layout] == []
