"""Secrets and children's data on disk: directories 0700, the key file and the SQLite read
model 0600 from their first byte, whatever the umask."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities import private_files
from activities.private_files import create_private_file, make_private_dir, tighten_dir, write_private_file
from worker.codec import ensure_local_keyring, load_keyring


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    # The most permissive umask: any file not created private would be world-readable.
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def key_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "project" / ".data" / "codec-keys.json"
    monkeypatch.delenv("CPPLAN_CODEC_KEYS", raising=False)
    monkeypatch.setenv("CPPLAN_CODEC_KEY_FILE", str(path))
    return path


def test_the_local_key_file_is_0600_in_a_0700_directory(key_path: Path) -> None:
    ring = ensure_local_keyring()

    assert mode(key_path) == 0o600
    assert mode(key_path.parent) == 0o700
    assert mode(key_path.parent.parent) == 0o700  # a missing parent made too: private as well
    assert load_keyring().current_id == ring.current_id  # type: ignore[union-attr]
    assert json.loads(key_path.read_text())["codec_token"]
    assert [p.name for p in key_path.parent.iterdir()] == ["codec-keys.json"]  # no temporary left


def test_the_key_file_is_private_before_it_is_in_place(key_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, str]] = []
    real_link = os.link

    def link(src: str, dst: str) -> None:
        seen.append((mode(Path(src)), Path(src).read_text()))
        real_link(src, dst)

    monkeypatch.setattr(private_files.os, "link", link)
    ensure_local_keyring()

    [(temp_mode, text)] = seen
    assert temp_mode == 0o600
    assert json.loads(text)["keys"]  # complete when it appears


def test_an_existing_key_file_is_kept(key_path: Path) -> None:
    first = ensure_local_keyring()
    assert not write_private_file(key_path, '{"keys": "other"}')
    assert ensure_local_keyring().current_id == first.current_id


def test_replace_swaps_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    write_private_file(path, "one")
    assert write_private_file(path, "two", replace=True)
    assert (path.read_text(), mode(path)) == ("two", 0o600)


def test_an_existing_wide_directory_is_tightened(tmp_path: Path) -> None:
    wide = tmp_path / ".data"
    wide.mkdir(mode=0o755)
    tighten_dir(wide)
    assert mode(wide) == 0o700


def test_the_sqlite_read_model_is_created_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from activities import db

    path = tmp_path / "new-dir" / "cpplan.db"
    db.reset_engine_cache()
    try:
        engine = db.get_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM plans")
    finally:
        db.reset_engine_cache()

    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    for extra in path.parent.glob("cpplan.db-*"):  # WAL and shared-memory files
        assert mode(extra) & 0o077 == 0, extra.name


def test_an_existing_database_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "kept.db"
    path.write_bytes(b"")
    path.chmod(0o640)
    create_private_file(path)
    assert mode(path) == 0o640


def test_make_private_dir_leaves_existing_directories(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    make_private_dir(tmp_path / "a" / "b")
    assert (mode(tmp_path), mode(tmp_path / "a"), mode(tmp_path / "a" / "b")) == (0o755, 0o700, 0o700)
