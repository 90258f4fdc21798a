"""``tagger info``: a model's configuration, labels, size and training scores (``Tagger.info``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import click

from tagger.cli.options import debug_option, model_option

EPILOG = """\b
Examples:
  tagger info --model models/ner
  tagger info --model models/ner --json | jq .scores"""


def model_info(model_dir: str) -> Dict[str, Any]:
    """The model's ``info()`` plus the directory (or ``.onnx`` file) and its size on disk."""
    from tagger.engines import load

    tagger = load(model_dir, engine="torch" if Path(model_dir).is_dir() else "auto", device="cpu")
    path = Path(model_dir)
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    return {
        "path": str(model_dir),
        "size_bytes": sum(p.stat().st_size for p in files),
        "files": [p.name for p in files],
        **tagger.info(),
    }


def format_info(info: Dict[str, Any]) -> str:
    """The human-readable form of :func:`model_info`."""
    from tagger.evaluation import format_report

    lines = [_row("model", f"{info['path']} ({_size(info['size_bytes'])}: {', '.join(info['files'])})")]
    names = {
        "tagger_version": "version",
        "created": "created",
        "training_time_s": "training (s)",
        "best_epoch": "best epoch",
        "embeddings": "embeddings",
    }
    for key, name in names.items():
        if info.get(key) is not None:
            lines.append(_row(name, info[key]))
    lines.append(_row("parameters", f"{info['parameters']:,} ({info['words']:,} words, {info['chars']:,} characters)"))
    lines.append(_row("scheme", info["scheme"]))
    lines.append(_row("labels", f"({len(info['labels'])}) {' '.join(info['labels'])}"))
    if info.get("corpus"):
        lines.append(_row("corpus", ", ".join(f"{split} {count:,} sentences" for split, count in info["corpus"].items())))
    for section in ("model", "training"):
        lines.append("")
        lines.append(f"{section}:")
        lines.extend(f"  {key:<18} {value}" for key, value in sorted(info[section].items()))
    for split, report in (info.get("scores") or {}).items():
        lines.append("")
        lines.append(f"{split}:")
        lines.append(format_report(report))
    return "\n".join(lines)


def _row(name: str, value: Any) -> str:
    return f"{name:<13}{value}"


def _size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"  # pragma: no cover


@click.command("info", epilog=EPILOG)
@model_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@debug_option
def info_command(model_dir: str, as_json: bool) -> None:
    """Show a model's configuration, labels, size and training scores."""
    info = model_info(model_dir)
    click.echo(json.dumps(info, indent=2, sort_keys=True, ensure_ascii=False) if as_json else format_info(info))
