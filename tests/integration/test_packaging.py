"""The built wheel installs one top-level package, ``tagger`` (with ``tagger.corpora`` and
``tagger.cli``), so it installs beside any distribution that ships its own ``cli`` or ``corpora``."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def pip(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=600, cwd=cwd)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    pip("wheel", "--no-deps", "-q", "-w", str(out), str(REPO))
    (built,) = out.glob("tagger-*.whl")
    return built


def test_wheel_has_the_one_top_level_package_tagger(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        assert archive.read(top_level).decode().split() == ["tagger"]
        entry_points = archive.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "tagger = tagger.cli.main:cli" in entry_points
    assert {n.split("/")[0] for n in names if not n.startswith("tagger-")} == {"tagger"}
    assert {"tagger/corpora/hf.py", "tagger/cli/main.py", "tagger/__main__.py"} <= set(names)


def test_wheel_marks_the_package_typed(wheel: Path) -> None:
    """PEP 561: ``py.typed`` tells type checkers to read tagger's own annotations."""
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("tagger/py.typed") == b""


def test_installs_beside_a_distribution_with_top_level_cli_and_corpora(wheel: Path, tmp_path: Path) -> None:
    dummy = tmp_path / "dummy"
    (dummy / "corpora").mkdir(parents=True)
    (dummy / "cli.py").write_text("WHO = 'dummy'\n", encoding="utf-8")
    (dummy / "corpora" / "__init__.py").write_text("WHO = 'dummy'\n", encoding="utf-8")
    (dummy / "setup.py").write_text(
        "from setuptools import setup\nsetup(name='dummy-cli', version='1.0', py_modules=['cli'], packages=['corpora'])\n", encoding="utf-8"
    )
    pip("wheel", "--no-deps", "-q", "-w", str(tmp_path), str(dummy))
    target = tmp_path / "site"
    for built in (wheel, next(tmp_path.glob("dummy_cli-*.whl"))):
        pip("install", "--no-deps", "--no-compile", "-q", "--target", str(target), str(built))
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    code = (
        "import cli, corpora, tagger.corpora, tagger.cli.main; "
        "assert cli.WHO == corpora.WHO == 'dummy'; "
        f"assert tagger.corpora.__file__.startswith({str(target)!r}), tagger.corpora.__file__; "
        "print(tagger.corpora.read_sentences.__module__)"
    )
    both = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert both.returncode == 0, both.stderr[-2000:]
    assert both.stdout.strip() == "tagger.corpora.detect"
    command = subprocess.run([sys.executable, "-m", "tagger", "--help"], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert command.returncode == 0, command.stderr[-2000:]
    assert "train" in command.stdout and "evaluate" in command.stdout


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


def test_the_public_names_are_the_lazy_ones_and_typed() -> None:
    """``tagger.__all__`` lists the lazy names, and type checkers see each from the module it loads from."""
    import ast

    import tagger

    assert sorted(tagger.__all__) == sorted(["__version__", *tagger._LAZY])
    tree = ast.parse((REPO / "tagger" / "__init__.py").read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING")
    typed = {alias.name: node.module for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert typed == tagger._LAZY


def test_every_public_name_is_documented_and_annotated() -> None:
    """``help(tagger.X)`` shows a summary line and, for functions and methods, annotated signatures."""
    import inspect

    import tagger

    missing = []
    for name in tagger._LAZY:
        value = getattr(tagger, name)
        doc = inspect.getdoc(value) or ""
        if not doc or not doc.splitlines()[0].rstrip().endswith((".", ":")):
            missing.append(f"{name}: no one-line summary")
        functions = [value] if inspect.isfunction(value) else []
        if inspect.isclass(value):
            functions = [f for n, f in vars(value).items() if inspect.isfunction(f) and not n.startswith("_")]
        for function in functions:
            signature = inspect.signature(function)
            unannotated = [p for p in signature.parameters.values() if p.annotation is p.empty and p.name not in ("self", "cls")]
            if unannotated or signature.return_annotation is signature.empty:
                missing.append(f"{name}.{function.__name__}: unannotated {[p.name for p in unannotated] or 'return'}")
    assert missing == []
