"""Primary monitor, run by the Patroni venv's Python (psycopg 3): one thread per member asks
`SELECT pg_is_in_recovery()` every INTERVAL seconds through the member's unix socket (which a
network partition does not cut) and logs "<member> <t_sent> <t_answered> P|R|X [error]"
(P = out of recovery, i.e. accepts writes; R = in recovery; X = no answer). Times are
CLOCK_MONOTONIC. A frozen (SIGSTOPped) server leaves its thread waiting: no sample is taken
while it cannot answer, and the answer it gives after SIGCONT is stamped when it arrives.

usage: monitor_proc.py OUT_FILE PASSWORD INTERVAL NAME:SOCKET_DIR:PORT...; stops on SIGTERM."""

import signal
import sys
import threading
import time

import psycopg


def watch(name, socket_dir, port, password, interval, out, lock, stop):
    connection = None
    tick = time.monotonic()
    while not stop.is_set():
        sent = time.monotonic()
        try:
            if connection is None or connection.closed:
                connection = psycopg.connect(host=socket_dir, port=port, user="postgres",
                                             password=password, dbname="postgres",
                                             connect_timeout=2, autocommit=True)
            in_recovery = connection.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            line = f"{name} {sent:.4f} {time.monotonic():.4f} {'R' if in_recovery else 'P'}"
        except psycopg.Error as error:
            kind = type(error).__name__
            line = f"{name} {sent:.4f} {time.monotonic():.4f} X {kind}"
            try:
                if connection is not None:
                    connection.close()
            except Exception:  # noqa: BLE001 - broken connection
                pass
            connection = None
        with lock:
            out.write(line + "\n")
        tick = max(tick + interval, time.monotonic())
        stop.wait(max(0.0, tick - time.monotonic()))


def main():
    out_path, password, interval = sys.argv[1], sys.argv[2], float(sys.argv[3])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lock = threading.Lock()
    with open(out_path, "w", buffering=1) as out:
        threads = []
        for spec in sys.argv[4:]:
            name, socket_dir, port = spec.split(":")
            threads.append(threading.Thread(
                target=watch, daemon=True,
                args=(name, socket_dir, int(port), password, interval, out, lock, stop)))
        for thread in threads:
            thread.start()
        while not stop.is_set():
            stop.wait(0.5)
        for thread in threads:
            thread.join(timeout=2)


if __name__ == "__main__":
    main()
