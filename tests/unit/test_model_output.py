"""Writing model directories never destroys data (issue 9, items 7, 8, 9 and the JSON part of 10).

"Is a model" is decided from the whole set of model files; files tagger did not write are never
deleted; a directory that appears during training is never replaced; two runs on the same --out
cannot both write it; the umask is honoured; what is written is fsynced; JSON holds no NaN.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

import tagger
from tagger.errors import ConfigError, OutputError
from tagger.serialization import ModelFiles, is_model_dir, save_model, staging_dir, write_model_files
from tests.model.toy import TINY, toy_dataset

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> ModelFiles:
    path = tmp_path_factory.mktemp("models") / "ner"
    return tagger.train(toy_dataset(), "ner_tags", path, max_epochs=1, log=lambda _: None, **TINY).to_files()


def hidden(directory: Path) -> List[str]:
    """Names a writer may leave behind by mistake: temporary directories and lock files."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def snapshot(directory: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


# ----------------------------------------------------------------------------- item 7: what is a model


def test_a_directory_that_merely_holds_a_config_json_is_not_a_model(files: ModelFiles, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.json").write_text('{"name": "my web app"}\n')
    (project / "main.py").write_text("print('hello')\n")
    before = snapshot(project)
    assert not is_model_dir(project)
    for force in (False, True):
        with pytest.raises(ConfigError, match="is not a tagger model") as info:
            save_model(project, files, force=force)
        assert "a model already exists" not in str(info.value)
    assert snapshot(project) == before and hidden(tmp_path) == []


def test_is_a_model_needs_every_model_file_and_a_format_version(files: ModelFiles, tmp_path: Path) -> None:
    model = tmp_path / "model"
    save_model(model, files)
    assert is_model_dir(model)
    for name in ("config.json", "vocab.json", "model.safetensors"):
        partial = tmp_path / f"without-{name}"
        shutil.copytree(model, partial)
        (partial / name).unlink()
        assert not is_model_dir(partial), name
    config = json.loads((model / "config.json").read_text())
    for bad in ({k: v for k, v in config.items() if k != "format_version"}, {**config, "format_version": "1"}, [1, 2]):
        (model / "config.json").write_text(json.dumps(bad))
        assert not is_model_dir(model), bad
    (model / "config.json").write_text("{not json")
    assert not is_model_dir(model)
    (model / "config.json").unlink()
    (model / "config.json").mkdir()
    assert not is_model_dir(model)


def test_force_never_deletes_files_tagger_did_not_write(files: ModelFiles, tmp_path: Path) -> None:
    model = tmp_path / "model"
    save_model(model, files)
    (model / "notes.txt").write_text("my notes on this model\n")
    before = snapshot(model)
    with pytest.raises(ConfigError, match=r"notes\.txt.*tagger did not write"):
        save_model(model, files, force=True)
    assert snapshot(model) == before and hidden(tmp_path) == []


# ----------------------------------------------------------------------------- item 8: check, lock, publish


def test_a_directory_created_during_training_is_kept_and_so_is_the_new_model(files: ModelFiles, tmp_path: Path) -> None:
    out = tmp_path / "model"
    with pytest.raises(OutputError) as info:
        with staging_dir(out, True) as staging:
            write_model_files(staging, files)
            out.mkdir()  # the user, while the model trains
            (out / "mine.txt").write_text("keep me")
    assert (out / "mine.txt").read_text() == "keep me" and sorted(p.name for p in out.iterdir()) == ["mine.txt"]
    kept = [p for p in tmp_path.iterdir() if p != out and is_model_dir(p)]
    assert len(kept) == 1 and not kept[0].name.startswith(".")
    assert str(info.value).startswith(f"{out}: ") and f"kept in {kept[0]}" in str(info.value)
    assert hidden(tmp_path) == []


def test_a_model_written_meanwhile_is_not_replaced_without_force(files: ModelFiles, tmp_path: Path) -> None:
    out = tmp_path / "model"
    other = dataclasses.replace(files, meta={"who": "the other writer"})
    with pytest.raises(OutputError, match="kept in"):
        with staging_dir(out, False) as staging:
            write_model_files(staging, files)
            save_model(out, other)
    assert json.loads((out / "meta.json").read_text()) == {"who": "the other writer"}
    assert len([p for p in tmp_path.iterdir() if is_model_dir(p)]) == 2


HOLD = """
import sys
from tagger.serialization import staging_dir
with staging_dir(sys.argv[1], False) as staging:
    (staging / "config.json").write_text("{}")
"""


def test_a_second_run_on_the_same_out_fails_at_once_naming_the_first(files: ModelFiles, tmp_path: Path) -> None:
    out = tmp_path / "model"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with staging_dir(out, False) as staging:
        second = subprocess.run([sys.executable, "-c", HOLD, str(out)], capture_output=True, text=True, env=env, timeout=60)
        assert second.returncode == 1 and "OutputError" in second.stderr, second.stderr
        assert f"pid {os.getpid()}" in second.stderr and str(out) in second.stderr
        assert not out.exists()
        write_model_files(staging, files)
    assert is_model_dir(out) and hidden(tmp_path) == []  # the lock file is gone too
    again = subprocess.run([sys.executable, "-c", HOLD, str(out)], capture_output=True, text=True, env=env, timeout=60)
    assert again.returncode == 1 and "a model already exists here" in again.stderr  # checked at the start, too


def exchange_works(directory: Path) -> bool:
    """Whether this OS and file system exchange two paths in one step (Linux renameat2)."""
    from tagger import files as writer

    a, b = directory / "probe-a", directory / "probe-b"
    a.mkdir()
    b.mkdir()
    try:
        return writer._renameat2(str(a), str(b), writer.RENAME_EXCHANGE)
    finally:
        a.rmdir()
        b.rmdir()


def test_replacing_a_model_never_leaves_the_path_empty(files: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tagger import files as writer

    out = tmp_path / "model"
    save_model(out, dataclasses.replace(files, meta={"version": 1}))
    seen: List[bool] = []
    for name in ("rename", "replace"):
        real = getattr(os, name)

        def spy(src, dst, *args, _real=real, **kwargs):
            _real(src, dst, *args, **kwargs)
            seen.append(out.is_dir())

        monkeypatch.setattr(os, name, spy)
    real_exchange = writer._renameat2

    def exchange_spy(src: str, dst: str, flags: int) -> bool:
        done = real_exchange(src, dst, flags)
        seen.append(out.is_dir())
        return done

    monkeypatch.setattr(writer, "_renameat2", exchange_spy)
    save_model(out, dataclasses.replace(files, meta={"version": 2}), force=True)
    assert json.loads((out / "meta.json").read_text()) == {"version": 2}
    if exchange_works(tmp_path):
        assert seen and all(seen), seen
    assert hidden(tmp_path) == []


def test_replacing_a_model_without_rename_exchange(files: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tagger import files as writer

    out = tmp_path / "model"
    save_model(out, dataclasses.replace(files, meta={"version": 1}))
    monkeypatch.setattr(writer, "_renameat2", lambda src, dst, flags: False)  # as on macOS or an old kernel
    save_model(out, dataclasses.replace(files, meta={"version": 2}), force=True)
    assert json.loads((out / "meta.json").read_text()) == {"version": 2} and hidden(tmp_path) == []


def test_a_failed_replacement_keeps_the_old_model(files: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tagger import files as writer

    out = tmp_path / "model"
    save_model(out, dataclasses.replace(files, meta={"version": 1}))
    before = snapshot(out)
    monkeypatch.setattr(writer, "_renameat2", lambda src, dst, flags: False)
    real = os.rename

    def fail_second(src, dst):
        if ".partial" in os.fspath(src):
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(os, "rename", fail_second)
    with pytest.raises(OutputError, match="Input/output error; the new model is kept in") as info:
        save_model(out, dataclasses.replace(files, meta={"version": 2}), force=True)
    monkeypatch.setattr(os, "rename", real)
    assert snapshot(out) == before  # the old model is back in place
    kept = Path(str(info.value).rsplit("kept in ", 1)[1])
    assert is_model_dir(kept) and json.loads((kept / "meta.json").read_text()) == {"version": 2}  # and the new one is not lost
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [kept.name]  # the failing disk could not rename it


# ----------------------------------------------------------------------------- item 9: permissions, fsync


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_model_directories_honour_the_umask(files: ModelFiles, tmp_path: Path, mask: int) -> None:
    out = tmp_path / "model"
    old = os.umask(mask)
    try:
        save_model(out, files)
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask
    for path in out.iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path.name


def test_replacing_a_model_keeps_the_directory_mode(files: ModelFiles, tmp_path: Path) -> None:
    out = tmp_path / "model"
    save_model(out, files)
    out.chmod(0o750)
    save_model(out, files, force=True)
    assert out.stat().st_mode & 0o777 == 0o750


def test_model_files_and_directories_are_fsynced(files: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: List[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    save_model(tmp_path / "model", files)
    for name in ("config.json", "vocab.json", "meta.json", "model.safetensors", tmp_path.name):
        assert name in synced, (name, synced)


# ----------------------------------------------------------------------------- item 10: JSON holds no NaN


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_refused_not_written_as_json(files: ModelFiles, tmp_path: Path, value: float) -> None:
    out = tmp_path / "model"
    bad = dataclasses.replace(files, meta={"scores": {"dev": {"f1": value}}})
    with pytest.raises(ConfigError, match=r"meta\.json: scores\.dev\.f1 is (nan|inf|-inf); JSON has no NaN or infinity") as info:
        save_model(out, bad)
    assert ".partial" not in str(info.value)
    assert not out.exists() and hidden(tmp_path) == []


def test_a_full_disk_while_writing_the_model_names_the_model_directory(
    files: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "model"

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OutputError) as info:
        save_model(out, files)
    assert str(info.value) == f"{out}: cannot write: No space left on device"
    assert not out.exists() and hidden(tmp_path) == []
