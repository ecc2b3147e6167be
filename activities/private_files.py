"""Files that hold secrets or children's data, private from their first byte.

Directories cpplan creates are 0700 and files 0600 (the payload key file, the SQLite read model).
A file is never written in place with the default mode and tightened afterwards: between the two
another user could open it and keep the descriptor.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import suppress
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_dir(path: Path) -> None:
    """Create `path` and any missing parents 0700 (`Path.mkdir(parents=True)` would give the
    parents the default mode). Directories already there are left as they are."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        with suppress(FileExistsError):
            directory.mkdir(mode=PRIVATE_DIR_MODE)


def tighten_dir(path: Path) -> None:
    """Make an existing directory of cpplan's own 0700 (one made by an earlier release with the
    default mode)."""
    with suppress(FileNotFoundError):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(PRIVATE_DIR_MODE)


def write_private_file(path: Path, text: str, *, replace: bool = False) -> bool:
    """Write `text` to `path` as a 0600 file, atomically: a temporary file in the same
    directory (created 0600 by `mkstemp`) is linked or renamed into place once complete.
    Without `replace`, an existing `path` is kept (another process made it first) and False
    is returned."""
    make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # fails if it exists: first writer wins
        except FileExistsError:
            return False
        return True
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)


def create_private_file(path: Path) -> None:
    """An empty 0600 file at `path` unless one is there (SQLite opens an empty file as a new
    database, and keeps the mode for its -wal and -shm files)."""
    make_private_dir(path.parent)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE))
