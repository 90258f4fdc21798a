"""The built wheel installs exactly the three top-level packages, and the console script."""

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_wheel_top_level_is_tagger_corpora_cli(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("tagger-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        assert sorted(archive.read(top_level).decode().split()) == ["cli", "corpora", "tagger"]
        entry_points = archive.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "tagger = cli.main:cli" in entry_points
    assert {n.split("/")[0] for n in names if not n.startswith("tagger-")} == {"cli", "corpora", "tagger"}


def test_the_library_imports_nothing_from_corpora_or_cli() -> None:
    """Imports point downwards: cli -> corpora -> tagger (docs/architecture.md)."""
    import ast

    upward = []
    for path in sorted((Path(__file__).resolve().parents[2] / "tagger").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            upward += [f"{path.name}: {name}" for name in names if name.split(".")[0] in ("corpora", "cli")]
    assert upward == []
