"""log: with type json and a log dir: every line of patroni.log is one JSON object with
Patroni's fields (python-json-logger's asctime, levelname, message) plus the static fields,
and rotation keeps at most file_num old files (patroni.log.1 .. .N)."""

import json
import os
import shutil
import signal
import subprocess

import pytest

from testkit.support import wait_until

# The reference Patroni venv has no python-json-logger, without which Patroni falls back to
# plain lines; the JSON layout checked here is the one Patroni has with it installed.
pytestmark = pytest.mark.staz_only

FILE_SIZE = 20000
FILE_NUM = 2
# Makes every line about 2 kB, so that a member at rest (one heartbeat line per loop_wait)
# fills file_size in a few seconds and rotates past file_num within a minute.
PADDING = "p" * 2000


def parse_lines(path):
    """Every line of path as a JSON object, read with jq when it is installed (the tool the
    log-shipping setups use) and with Python's json module in any case."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    objects = [json.loads(line) for line in lines]
    assert all(isinstance(obj, dict) for obj in objects), path
    if shutil.which("jq"):
        # -e: fails on anything but a stream of objects carrying the three fields.
        check = subprocess.run(["jq", "-e", "-c", "select(.levelname and .message and .app) | 1"], stdin=open(path, "rb"),
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        assert len(check.stdout.splitlines()) == len(lines), f"jq accepted {len(check.stdout.splitlines())} of {len(lines)} lines"
    return objects


def test_json_log_file_rotates_and_every_line_is_json(make_cluster, profile):
    cluster = make_cluster()
    log_dir = cluster.path("log")  # does not exist yet: staz creates it
    member = cluster.add_member("m0", overrides={"log": {
        "type": "json", "dir": log_dir, "file_size": FILE_SIZE, "file_num": FILE_NUM,
        "static_fields": {"app": "staz", "padding": PADDING}}})
    cluster.wait_for_healthy(replicas=0)

    base = os.path.join(log_dir, "patroni.log")
    wait_until(lambda: os.path.exists(f"{base}.{FILE_NUM}"), 120,
               f"patroni.log rotated {FILE_NUM} times")
    # Past the limit (rotation renames patroni.log, so a new one has a new inode): the oldest
    # file is dropped rather than a .3 appearing.
    inode = os.stat(base).st_ino
    wait_until(lambda: os.stat(base).st_ino != inode, 120, "patroni.log rotated once more")

    # Stopped, so that no rotation happens while the files are read; the lines of the
    # shutdown itself are written out before the process ends.
    member.kill_daemon(signal.SIGTERM)
    assert member.wait_daemon_exit(60) is not None, "daemon did not stop on SIGTERM"

    names = sorted(os.listdir(log_dir))
    assert names == ["patroni.log"] + [f"patroni.log.{i}" for i in range(1, FILE_NUM + 1)], names
    messages = []
    for name in reversed(names):  # oldest first
        path = os.path.join(log_dir, name)
        assert os.path.getsize(path) < FILE_SIZE, f"{name}: {os.path.getsize(path)} bytes"
        for obj in parse_lines(path):
            assert {"asctime", "levelname", "message", "app"} <= obj.keys(), obj
            assert obj["app"] == "staz" and obj["padding"] == PADDING
            assert obj["levelname"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
            messages.append(obj["message"])
    assert any(message.startswith("no action. I am (m0), the leader with the lock") for message in messages), messages[-5:]
    assert messages[-1] == "Leader key released", "the last lines before the exit were written out"

    # The lines went to the file, not to stderr (journald's, under systemd).
    assert "no action." not in member.log_text()
