"""The live-server helpers wait for readiness on a loaded machine and never leave a server running."""

import os
import sys
import textwrap
import time

import pytest

from tests import live

# A server that, like a gunicorn whose workers are still loading, accepts connections at once but is slow to
# answer its first request; it also starts a child process, as a gunicorn master starts workers.
SLOW_SERVER = textwrap.dedent("""
    import http.server, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(child.pid, flush=True)
    first = [True]

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if first[0]:
                first[0] = False
                time.sleep(float(sys.argv[2]))
            self.send_response(200)
            self.end_headers()

    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Slow).serve_forever()
""")


def _server(port, first_answer_seconds):
    return [sys.executable, "-c", SLOW_SERVER, str(port), str(first_answer_seconds)]


def _alive(pid: int, within: float = 5) -> bool:
    """Whether the process is still alive after `within` seconds (a killed process takes a moment to go)."""
    until = time.monotonic() + within
    while _running(pid) and time.monotonic() < until:
        time.sleep(0.05)
    return _running(pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_server_slow_to_give_its_first_answer_is_waited_for_then_stopped_with_its_children():
    port = live.free_port()
    # Given a server whose first answer takes longer than one request's timeout used to allow (2 s)
    with live.running(_server(port, 3), f"http://127.0.0.1:{port}/", deadline=60) as process:
        # Then the block is entered once it answers, instead of failing with a read timeout
        assert process.poll() is None
        child = _children(process.pid)
    # And leaving it stops the server and what it started
    assert process.poll() is not None
    assert child and not any(_alive(pid) for pid in child)


def test_a_server_that_never_answers_in_time_is_stopped_and_says_why():
    port = live.free_port()
    with pytest.raises(live.ServerNotReady, match="did not answer within 2 s") as error:
        with live.running(_server(port, 600), f"http://127.0.0.1:{port}/", deadline=2):
            pytest.fail("entered a server that never answered")
    child = int(str(error.value).splitlines()[-1])  # the log's last line: the pid the server printed
    assert not _alive(child)


def test_a_server_that_exits_before_answering_is_reported_at_once():
    command = [sys.executable, "-c", "import sys; print('no database'); sys.exit(3)"]
    with pytest.raises(live.ServerNotReady, match="exited with 3 before answering(.|\n)*no database"):
        with live.running(command, f"http://127.0.0.1:{live.free_port()}/", deadline=60):
            pass


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = open(f"/proc/{entry}/stat").read() if entry.isdigit() else ""
        except OSError:  # gone meanwhile
            continue
        if stat and stat.rsplit(")", 1)[1].split()[1] == str(pid):
            found.append(int(entry))
    return found
