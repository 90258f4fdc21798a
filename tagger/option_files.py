"""Option files (``tagger train --config FILE``): a JSON or YAML mapping of option names to values.

The reader is generic: it returns the mapping as written and leaves checking the names and
converting the values to whoever knows the options (the CLI does it with its click types, so a
file and a flag are validated alike, and its error messages name the key as the file spells it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Union

from tagger.errors import ConfigError


def read_option_file(path: Union[str, Path]) -> Dict[str, Any]:
    """Read a JSON (``.json``) or YAML (any other name) file of options.

    Returns:
        The options, keys as strings spelled as in the file; an empty file gives ``{}``.

    Raises:
        ConfigError: A missing or unreadable file, bad JSON or YAML (with its line), or not a mapping.
    """
    if not os.path.exists(path):
        raise ConfigError("no such config file", path)
    if os.path.isdir(path):
        raise ConfigError("is a directory, expected a config file", path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path) from None
    raw = _parse_json(text, path) if Path(path).suffix.lower() == ".json" else _parse_yaml(text, path)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"expected a mapping of option -> value, got {type(raw).__name__}", path)
    return {str(key): value for key, value in raw.items()}


def _parse_json(text: str, path: Union[str, Path]) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON ({exc.msg})", path, exc.lineno) from None


def _parse_yaml(text: str, path: Union[str, Path]) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)  # YAML is a superset of JSON: either kind of file reads
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"not valid YAML or JSON ({problem})", path, mark.line + 1 if mark else None) from None
