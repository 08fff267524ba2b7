"""Workload helper, run by the Patroni venv's Python (it has psycopg 3): N client threads each
insert unique ids through HAProxy on one long-lived autocommit connection and log, per id,
"T <id> <t>" before sending and "A <id> <server address> <t>" once the COMMIT was acknowledged
(t = CLOCK_MONOTONIC, shared with the test process). A failed statement is logged as
"E <id> <t> <message>": its outcome is unknown (it may or may not be committed).

No statement_timeout on purpose: cancelling a commit that waits for a synchronous standby makes
PostgreSQL report success with a WARNING, i.e. an acknowledgement for a write that may not be
replicated - that would be the test harness creating the loss it is meant to detect.

usage: writer_proc.py PORT PASSWORD TABLE CLIENTS PAUSE_SECONDS OUT_DIR; stops on SIGTERM."""

import os
import signal
import sys
import threading
import time

import psycopg

ID_BLOCK = 1_000_000_000  # client k writes ids k*ID_BLOCK+1, +2, ...


def client(index, port, password, table, pause, out_dir, stop):
    next_id = (index + 1) * ID_BLOCK + 1
    with open(os.path.join(out_dir, f"writer-{index}.log"), "w", buffering=1) as log:
        connection = None
        while not stop.is_set():
            sent = False
            try:
                if connection is None or connection.closed:
                    connection = psycopg.connect(host="127.0.0.1", port=port, user="postgres",
                                                 password=password, dbname="postgres",
                                                 connect_timeout=2, autocommit=True)
                log.write(f"T {next_id} {time.monotonic():.4f}\n")
                sent = True
                row = connection.execute(
                    f"INSERT INTO {table} VALUES (%s) RETURNING host(inet_server_addr())",
                    (next_id,)).fetchone()
                log.write(f"A {next_id} {row[0]} {time.monotonic():.4f}\n")
                next_id += 1
            except psycopg.Error as error:
                if sent:
                    message = str(error).replace("\n", " ")[:160]
                    log.write(f"E {next_id} {time.monotonic():.4f} {message}\n")
                    next_id += 1  # never reuse an id whose outcome is unknown
                if connection is not None:
                    try:
                        connection.close()
                    except Exception:  # noqa: BLE001 - the connection is broken anyway
                        pass
                connection = None
                stop.wait(0.1)
                continue
            if pause:
                stop.wait(pause)


def main():
    port, password, table, clients, pause, out_dir = sys.argv[1:7]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [threading.Thread(target=client, daemon=True,
                                args=(i, int(port), password, table, float(pause), out_dir, stop))
               for i in range(int(clients))]
    for thread in threads:
        thread.start()
    while not stop.is_set():
        stop.wait(0.5)
    for thread in threads:
        thread.join(timeout=3)


if __name__ == "__main__":
    main()
