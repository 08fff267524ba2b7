"""Small, dependency-free helpers for the integration harness: polling with a readable
timeline, free ports, psql/REST clients, a minimal YAML emitter and process utilities."""

import base64
from dataclasses import dataclass
import http.client
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

# The PostgreSQL every test runs: Debian's 15 unless STAZ_PG_BIN names another build's bin
# directory (scripts/test.sh points it at the Spock-patched build for the Spock mesh tests).
PG_BIN = os.environ.get("STAZ_PG_BIN") or "/usr/lib/postgresql/15/bin"
SUPERUSER_PASSWORD = "zalando"


class NotYet(Exception):
    """Raised by a polled predicate to say why it is not satisfied yet (shown in timelines)."""


class WaitTimeout(AssertionError):
    """Raised by wait_until; the message carries the timeline of polled values."""


def wait_until(predicate, timeout, what, interval=0.5):
    """Polls predicate() until it returns a truthy value (which is returned) or `timeout`
    seconds pass. Exceptions count as values, so the timeline shows why a probe failed."""
    start = time.monotonic()
    timeline = []  # (elapsed, repr) for every change of the observed value
    last = object()
    while True:
        try:
            value = predicate()
        except Exception as error:  # noqa: BLE001 - we want every failure in the timeline
            value = None
            observed = f"{type(error).__name__}: {error}"
        else:
            observed = repr(value)
        elapsed = time.monotonic() - start
        if observed != last:
            timeline.append((elapsed, observed))
            last = observed
        if value:
            return value
        if elapsed >= timeout:
            lines = [f"  +{t:6.2f}s {v[:400]}" for t, v in timeline]
            if len(lines) > 25:
                lines = lines[:5] + [f"  ... {len(lines) - 25} more changes ..."] + lines[-20:]
            lines = "\n".join(lines)
            raise WaitTimeout(
                f"timed out after {timeout:.1f}s waiting for: {what}\n"
                f"values observed (changes only):\n{lines}")
        time.sleep(interval)


PORT_RESERVATIONS = "/tmp/staz-it-ports"


class PortAllocator:
    """Hands out ports from [first, last] that are currently bindable on 127.0.0.1, never
    the same one twice in a row (wraps around), so consecutive clusters do not meet
    connections in TIME_WAIT. Each port is also reserved by a file in PORT_RESERVATIONS
    naming this process, so concurrent pytest sessions (other engineers, CI) never hand out
    the same port; reservations of dead processes are taken over."""

    def __init__(self, first, last):
        self.first, self.last = first, last
        # A random start, so a new session does not reuse the ports that the previous
        # session's just-killed processes (or their orphaned children) may still hold.
        self.next = random.randint(first, last)

    def allocate(self):
        for _ in range(self.last - self.first + 1):
            port = self.next
            self.next = self.first if self.next >= self.last else self.next + 1
            if port_is_free(port) and reserve_port(port):
                return port
        raise RuntimeError(f"no free port in {self.first}-{self.last}")


@dataclass(frozen=True)
class PortRanges:
    """Where one process's clusters take their ports from, by kind. The test suites and the
    benchmarks use different ranges, so a benchmark never collides with a test run."""
    rest: PortAllocator
    etcd: PortAllocator
    pg: PortAllocator
    proxy: PortAllocator


def reserve_port(port):
    os.makedirs(PORT_RESERVATIONS, exist_ok=True)
    path = os.path.join(PORT_RESERVATIONS, str(port))
    for _ in range(2):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                with open(path) as handle:
                    owner = int(handle.read().strip() or 0)
            except (OSError, ValueError):
                owner = 0
            if owner == os.getpid() or (owner and pid_alive(owner)):
                return False
            try:
                os.unlink(path)  # stale: its session is gone
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(descriptor, "w") as handle:
            handle.write(str(os.getpid()))
        return True
    return False


def release_port(port):
    path = os.path.join(PORT_RESERVATIONS, str(port))
    try:
        with open(path) as handle:
            if handle.read().strip() == str(os.getpid()):
                os.unlink(path)
    except (OSError, ValueError):
        pass


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def freeze_process(pid, timeout=5.0):
    """SIGSTOP `pid` and return once every thread of it has stopped. kill() returns when the
    signal is queued: until one thread of a busy machine gets a CPU to act on it, the other
    threads keep running (an etcd answers requests, a daemon writes), so "frozen" is only
    true once /proc says so."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
            states = []
            for task in tasks:
                with open(f"/proc/{pid}/task/{task}/stat", encoding="ascii", errors="replace") as handle:
                    states.append(handle.read().rsplit(")", 1)[1].split()[0])
        except (FileNotFoundError, ProcessLookupError):
            return  # gone: nothing runs
        if states and all(state in ("T", "t") for state in states):
            return
        time.sleep(0.005)
    raise AssertionError(f"process {pid} did not stop within {timeout}s of SIGSTOP")


def http_request(port, path, method="GET", body=None, timeout=3.0, scheme="http", cafile=None,
                 auth=None, host="127.0.0.1"):
    """Returns (status, parsed JSON or text). status is None when nothing answered.
    `cafile` verifies an https server against that CA; `auth` is (username, password) sent as
    HTTP basic authentication; `host` is another address (e.g. a member's network namespace)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{scheme}://{host}:{port}{path}", data=data,
                                     method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = ssl.create_default_context(cafile=cafile) if scheme == "https" else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, _decode(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _decode(error.read())
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        # e.g. plain http sent to a TLS port: no HTTP answer at all.
        return None, f"{type(error).__name__}: {error}"


def _decode(raw):
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def psql(port, sql, timeout=15, database="postgres"):
    """Runs SQL as the superuser over TCP; returns (returncode, stdout, stderr)."""
    env = dict(os.environ, PGPASSWORD=SUPERUSER_PASSWORD, PGCONNECT_TIMEOUT="3")
    command = [f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
               "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "", f"psql timed out after {timeout}s"
    return done.returncode, done.stdout.strip(), done.stderr.strip()


class OpenTransaction:
    """A psql session held open over stdin, so a test decides when each transaction commits:
    `run(sql)` returns once the statements ran (psql echoes a marker after them), `commit()`
    ends the transaction and the session."""

    def __init__(self, port, database="postgres"):
        env = dict(os.environ, PGPASSWORD=SUPERUSER_PASSWORD, PGCONNECT_TIMEOUT="3")
        self.process = subprocess.Popen(
            [f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
             "-v", "ON_ERROR_STOP=1", "-At"],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, sql, marker="-- done --"):
        self.process.stdin.write(f"{sql}\n\\echo '{marker}'\n")
        self.process.stdin.flush()
        lines = []
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"psql ended: {self.process.stderr.read()}")
            if line.strip() == marker:
                return lines
            lines.append(line.strip())

    def commit(self, timeout=15):
        out, err = self.process.communicate("COMMIT;\n", timeout=timeout)
        if self.process.returncode != 0:
            raise RuntimeError(f"COMMIT failed ({self.process.returncode}): {err}")
        return out


def psql_value(port, sql, timeout=15, database="postgres"):
    """Like psql() but raises with the server's message on failure."""
    code, out, err = psql(port, sql, timeout, database=database)
    if code != 0:
        raise RuntimeError(f"psql -p {port} failed ({code}): {err}")
    return out


def to_yaml(value, indent=0):
    """Emits block-style YAML; strings are JSON-quoted (valid YAML) unless plainly safe."""
    pad = "  " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(item, indent + 1))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    else:
        for item in value:
            if isinstance(item, dict) and item:
                first, *rest = to_yaml(item, indent + 1).split("\n")
                lines.append(f"{pad}- {first.strip()}")
                lines.extend(rest)
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    return "\n".join(lines)


def _scalar(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    text = str(value)
    plain = text.replace("_", "").replace("-", "").replace(".", "").replace("/", "")
    if plain.isalnum() and not text[0].isdigit() and text.lower() not in (
            "yes", "no", "on", "off", "true", "false", "null", "y", "n"):
        return text
    return json.dumps(text)


def pids_referencing(path):
    """Pids whose command line mentions `path` (our per-cluster temp dir is unique, so this
    finds exactly the processes one cluster started, including grandchildren)."""
    found = []
    needle = path.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if needle in handle.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def signal_pid(pid, sig):
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still "exists"; treat it as dead.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def terminate(pid, grace=10.0, sig=signal.SIGTERM):
    """Sends sig, waits up to grace seconds, then SIGKILLs. Also resumes stopped processes."""
    if not pid_alive(pid):
        return
    signal_pid(pid, signal.SIGCONT)
    signal_pid(pid, sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    if pid_alive(pid):
        signal_pid(pid, signal.SIGKILL)


def tail(path, lines=60):
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 200 * lines))
            text = handle.read().decode("utf-8", "replace")
    except OSError as error:
        return f"<cannot read {path}: {error}>"
    return "\n".join(text.splitlines()[-lines:])


PR_SET_CHILD_SUBREAPER = 36


def _set_child_subreaper(enabled):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if enabled else 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap_postgres_orphans():
    """Reaps the exited postgres processes that were re-parented to this process."""
    reaped = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                head, _, tail = handle.read().rpartition(")")
            fields = tail.split()
            if fields[0] != "Z" or int(fields[1]) != os.getpid() or "postgres" not in head:
                continue
            os.waitpid(int(entry), os.WNOHANG)
            reaped += 1
        except (OSError, ValueError, IndexError, ChildProcessError):
            continue
    return reaped


class OrphansLeftUnreaped:
    """Makes the test process the child subreaper of everything it starts: a postmaster
    (orphaned by pg_ctl) becomes its child, and once killed stays a zombie, with its
    postmaster.pid naming a pid PostgreSQL still counts as running, until `release()`. This
    forces what a slow-reaping PID 1 (containers, micro-VMs) does by chance."""

    def __enter__(self):
        _set_child_subreaper(True)
        return self

    def release(self):
        return reap_postgres_orphans()

    def __exit__(self, *exc):
        _set_child_subreaper(False)
        self.release()
        return False


def child_process(parent_pid, needle):
    """The pid of a child of `parent_pid` whose command line contains `needle` (from /proc), or
    None."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if parent == parent_pid and needle in command:
            return int(entry)
    return None
