"""tagger.option_files: JSON/YAML option files read as a mapping, bad files refused in one line naming them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagger.errors import ConfigError
from tagger.option_files import read_option_file


def test_json_and_yaml_keep_the_keys_as_written(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"hidden-size": 10, "lr": 0.1}', encoding="utf-8")
    (tmp_path / "a.yaml").write_text("hidden_size: 10\ncell: gru\n", encoding="utf-8")
    (tmp_path / "empty.yml").write_text("", encoding="utf-8")
    assert read_option_file(tmp_path / "a.json") == {"hidden-size": 10, "lr": 0.1}
    assert read_option_file(tmp_path / "a.yaml") == {"hidden_size": 10, "cell": "gru"}
    assert read_option_file(tmp_path / "empty.yml") == {}


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("bad.json", '{"lr": 0.1,}', ":1: not valid JSON"),
        ("bad.yaml", "cell: lstm\n  bad: [indent\n", ":2: not valid YAML"),
        ("list.yaml", "- a\n- b\n", ": expected a mapping of option -> value, got list"),
        ("bytes.yaml", None, ": cannot read:"),
    ],
)
def test_bad_files_name_themselves(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xff\xfe\x00" if text is None else text.encode("utf-8"))
    with pytest.raises(ConfigError) as error:
        read_option_file(path)
    assert str(error.value).startswith(f"{path}{message}")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        read_option_file(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        read_option_file(tmp_path)
