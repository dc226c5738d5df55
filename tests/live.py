"""Real gunicorn servers for fault, race and load runs: started, waited for by readiness, always stopped.

A loaded machine makes the first answer slow (workers import the app and load the engine), so readiness
is "an HTTP answer arrived", retried on every kind of request error until a deadline; a server that exits
or never answers is stopped, with its whole process group, and the error shows the end of its log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
READY_SECONDS = 180  # a cold start on a busy 2-core machine takes well under this


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerNotReady(RuntimeError):
    """The server exited, or did not answer before the deadline."""


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT
    process: subprocess.Popen


def wait_ready(url: str, process: subprocess.Popen, log: Path | None = None, deadline: float = READY_SECONDS) -> None:
    """Return once `url` answers at all (any status); raise ServerNotReady if the process dies or time runs out."""
    until = time.monotonic() + deadline
    while True:
        if process.poll() is not None:
            raise ServerNotReady(f"the server exited with {process.returncode} before answering{_tail(log)}")
        try:
            requests.get(url, timeout=min(30.0, max(1.0, until - time.monotonic())))
            return
        except requests.RequestException as exc:  # refused, reset or slow: not ready yet
            if time.monotonic() >= until:
                raise ServerNotReady(f"{url} did not answer within {deadline:.0f} s ({exc}){_tail(log)}") from None
            time.sleep(0.2)


def stop(process: subprocess.Popen, grace: float = 30) -> None:
    """Stop a server started in its own session, and every process it started, whatever state it is in."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:  # workers left behind by a master that died or hung
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


@contextmanager
def running(command: list[str], url: str, *, env: dict | None = None, deadline: float = READY_SECONDS):
    """Run a server command in its own session until the block ends; enter once `url` answers."""
    with tempfile.NamedTemporaryFile(prefix="facerec-server-", suffix=".log", delete=False) as handle:
        log = Path(handle.name)
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        wait_ready(url, process, log, deadline)
        yield process
    finally:
        stop(process)
        log.unlink(missing_ok=True)


@contextmanager
def gunicorn(env: dict, *, workers: int = 1, timeout: int = 120, ready_path: str = "/api/"):
    """A gunicorn serving facerec.wsgi on a free loopback port, once it answers; stopped on leaving."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("gunicorn")), "facerec.wsgi", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--timeout", str(timeout)]
    url = f"http://127.0.0.1:{port}"
    with running(command, url + ready_path, env=env) as process:
        yield Server(url, process)


def _tail(log: Path | None, lines: int = 15) -> str:
    if log is None or not log.is_file():
        return ""
    return "; its log ends:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
