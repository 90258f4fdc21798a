"""``tagger.files``, the toolkit's one writer: atomic, durable, umask-honouring, never destroying data."""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import threading
from pathlib import Path
from typing import List

import pytest

from tagger import files
from tagger.errors import ConfigError, OutputError
from tagger.signals import Terminated


def names(directory: Path) -> List[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def umask_027(monkeypatch: pytest.MonkeyPatch):
    """Umask 027 for the test, and any call to os.umask by the code under test fails."""
    old = os.umask(0o027)

    def forbidden(mask: int) -> int:
        raise AssertionError("the process umask must never be changed (not even to read it)")

    monkeypatch.setattr(os, "umask", forbidden)
    yield
    monkeypatch.undo()
    os.umask(old)


def test_new_files_and_directories_get_the_umask_without_touching_it(tmp_path: Path, umask_027: None) -> None:
    with files.atomic_file(tmp_path / "a.txt") as out:
        out.write("a\n")
    with files.atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"b")
    made = files.new_directory_beside(tmp_path / "model")
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "b.bin").stat().st_mode & 0o777 == 0o640
    assert made.stat().st_mode & 0o777 == 0o750 and made.name.startswith(".model.") and made.name.endswith(".partial")


def test_a_replaced_file_keeps_its_mode_and_the_content_is_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    target.chmod(0o604)
    with files.atomic_file(target, "wb") as out:
        out.write(b"new " * 100_000)
        assert target.read_bytes() == b"old"  # readers see the old file until the end
    assert target.read_bytes() == b"new " * 100_000 and target.stat().st_mode & 0o777 == 0o604
    assert names(tmp_path) == ["out.bin"]


@pytest.mark.parametrize("error", [ValueError("bad input"), KeyboardInterrupt(), Terminated("received signal 15")])
def test_an_error_in_the_block_keeps_the_old_file_and_no_temporary(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(type(error)):
        with files.atomic_file(target) as out:
            out.write("half of it")
            raise error
    assert target.read_text() == "old\n" and names(tmp_path) == ["out.txt"]


def test_atomic_path_reports_a_full_disk_for_the_users_path(tmp_path: Path) -> None:
    target = tmp_path / "vectors.bin"
    target.write_bytes(b"old")
    with pytest.raises(OutputError) as info:
        with files.atomic_path(target) as tmp:
            assert tmp != target and tmp.parent == tmp_path
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(info.value) == f"{target}: cannot write: No space left on device"
    assert target.read_bytes() == b"old" and names(tmp_path) == ["vectors.bin"]


def test_a_long_name_still_gets_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / ("x" * 250)
    with files.atomic_file(target) as out:
        out.write("fits")
    assert target.read_text() == "fits"


def test_descriptor_paths_write_to_the_open_descriptor(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("first\n")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    inode = log.stat().st_ino
    try:
        for spelling in (f"/dev/fd/{fd}", f"/proc/self/fd/{fd}"):
            assert files.resolve_output(spelling).kind == "descriptor"
            with files.atomic_file(spelling) as out:
                out.write(f"via {spelling}\n")
    finally:
        os.close(fd)
    assert log.read_text() == f"first\nvia /dev/fd/{fd}\nvia /proc/self/fd/{fd}\n" and log.stat().st_ino == inode


def test_what_a_path_leads_to(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "one").symlink_to("two")
    (tmp_path / "two").symlink_to("file")
    (tmp_path / "loop").symlink_to("loop")
    assert files.resolve_output(tmp_path / "file").kind == "file"
    assert files.resolve_output(tmp_path / "missing").kind == "new"
    assert files.resolve_output(tmp_path / "fifo").kind == "device"
    assert files.resolve_output("/dev/null").kind == "device"
    assert files.resolve_output("/dev/stdout").kind == "descriptor" and files.resolve_output("/dev/stdout").fd == 1
    chained = files.resolve_output(tmp_path / "one")
    assert (chained.kind, chained.path, chained.shown) == ("file", str(tmp_path / "file"), str(tmp_path / "one"))
    with pytest.raises(OutputError, match="symlink loop"):
        files.resolve_output(tmp_path / "loop")
    with pytest.raises(OutputError, match="is a directory"):
        files.resolve_output(tmp_path)
    with pytest.raises(OutputError, match=f"directory {tmp_path / 'no'} does not exist"):
        files.resolve_output(tmp_path / "no" / "file")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(OutputError, match="is a socket; refusing"):
            files.atomic_file(tmp_path / "sock").__enter__()
    finally:
        server.close()


def test_json_has_no_nan_and_names_the_key(tmp_path: Path) -> None:
    value = {"history": [{"loss": 1.5}, {"loss": float("nan")}]}
    with pytest.raises(ConfigError, match=r"^metrics\.json: history\[1\]\.loss is nan; JSON has no NaN or infinity$"):
        files.write_json(tmp_path / "metrics.json", value)
    assert names(tmp_path) == []
    with pytest.raises(ConfigError, match="^the value is inf"):
        files.dumps_json(float("inf"))
    files.write_json(tmp_path / "ok.json", {"b": 1, "a": [0.5]})
    assert json.loads((tmp_path / "ok.json").read_text()) == {"a": [0.5], "b": 1}


def test_the_lock_is_exclusive_reentrant_and_removed(tmp_path: Path) -> None:
    guarded = tmp_path / "model"
    failures: List[str] = []

    def other_thread() -> None:
        try:
            with files.exclusive_lock(guarded, "this model"):
                pass
        except OutputError as exc:
            failures.append(str(exc))

    with files.exclusive_lock(guarded, "this model"):
        assert (tmp_path / ".model.lock").read_text() == f"{os.getpid()}\n"
        with files.exclusive_lock(guarded, "this model"):  # the same thread again: allowed
            pass
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    message = f"{guarded}: another tagger run (pid {os.getpid()}) is writing this model; wait for it to end or choose another path"
    assert failures == [message]
    assert names(tmp_path) == []
    (tmp_path / ".model.lock").write_text("99999999\n")  # left by a process that died: flock went with it
    with files.exclusive_lock(guarded):
        pass
    assert names(tmp_path) == []


def test_publish_directory_never_writes_over_what_appeared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for exchange in (True, False):
        if not exchange:
            monkeypatch.setattr(files, "_renameat2", lambda src, dst, flags: False)
        new, out = tmp_path / "new", tmp_path / "out"
        new.mkdir()
        (new / "f").write_text("new")
        out.mkdir()
        (out / "mine").write_text("mine")
        with pytest.raises(FileExistsError):
            files.rename_no_replace(new, out)
        assert (out / "mine").read_text() == "mine" and (new / "f").read_text() == "new"
        removed: List[List[str]] = []

        def remove(old: Path, removed: List[List[str]] = removed) -> None:
            removed.append(names(old))
            (old / "mine").unlink()
            old.rmdir()

        files.publish_directory(new, out, remove)
        assert removed == [["mine"]] and names(out) == ["f"] and names(tmp_path) == ["out"]
        os.remove(out / "f")
        out.rmdir()


def test_fsync_reaches_every_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").write_text("a")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_text("b")
    (tmp_path / "link").symlink_to("/dev/null")
    synced: List[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    files.fsync_tree(tmp_path)
    assert sorted(synced) == sorted(str(p) for p in (tmp_path, tmp_path / "a", tmp_path / "sub", tmp_path / "sub" / "b"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
