"""A loopback proxy in front of etcd's HTTP gateway that can hold back the answers to chosen
paths while still forwarding the requests: etcd acts on them (a lease keepalive renews the
lease) but the daemon does not learn it in time, as with an etcd that answers reads before it
answers keepalives after a restart. Everything else passes unchanged, watch streams included.

Requests are parsed only far enough to find their path and end (Content-Length bodies; a
chunked request body switches the connection to plain copying). Answers are copied as bytes:
clients send one request at a time per connection, so the next answer belongs to the last
request."""

import socket
import threading


class EtcdProxy:
    def __init__(self, upstream_port, port):
        self.upstream_port = upstream_port
        self.port = port
        self.held_paths = set()
        self.hold_seconds = 0.0
        self.held_answers = 0  # answers held back so far (each for hold_seconds or until closed)
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", port))
        self._listener.settimeout(0.5)
        threading.Thread(target=self._accept, daemon=True, name="etcd-proxy").start()

    def hold(self, paths, seconds):
        """From now on, answers to requests for `paths` reach the client `seconds` late."""
        with self._lock:
            self.held_paths, self.hold_seconds = set(paths), seconds

    def release(self):
        with self._lock:
            self.held_paths = set()

    def close(self):
        self._stopped.set()
        self._listener.close()

    def hold_for(self, path):
        """Seconds the answer to a request for `path` is held back now (0: not held)."""
        with self._lock:
            return self.hold_seconds if path in self.held_paths else 0.0

    def _accept(self):
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            connection = _Connection(self, client, upstream)
            threading.Thread(target=connection.forward_requests, daemon=True).start()
            threading.Thread(target=connection.forward_answers, daemon=True).start()


class _Connection:
    def __init__(self, proxy, client, upstream):
        self.proxy, self.client, self.upstream = proxy, client, upstream
        self.hold_next_answer = 0.0
        self.closed = threading.Event()

    def close(self):
        self.closed.set()
        for end in (self.client, self.upstream):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def forward_requests(self):
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = self.client.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = head.split(b"\r\n")
                path = lines[0].split(b" ")[1].decode() if len(lines[0].split(b" ")) > 1 else ""
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    headers[name.strip().lower()] = value.strip()
                if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
                    self.upstream.sendall(head + b"\r\n\r\n" + buffer)
                    self._copy_rest()
                    return
                length = int(headers.get(b"content-length", b"0"))
                while len(buffer) < length:
                    data = self.client.recv(65536)
                    if not data:
                        return
                    buffer += data
                body, buffer = buffer[:length], buffer[length:]
                self.hold_next_answer = self.proxy.hold_for(path)
                self.upstream.sendall(head + b"\r\n\r\n" + body)
        except OSError:
            pass
        finally:
            self.close()

    def _copy_rest(self):
        while True:
            data = self.client.recv(65536)
            if not data:
                return
            self.upstream.sendall(data)

    def forward_answers(self):
        try:
            while True:
                data = self.upstream.recv(65536)
                if not data:
                    return
                hold, self.hold_next_answer = self.hold_next_answer, 0.0
                if hold:
                    with self.proxy._lock:
                        self.proxy.held_answers += 1
                    # Until the hold is over or the client gave up (and closed).
                    if self.closed.wait(hold):
                        return
                self.client.sendall(data)
        except OSError:
            pass
        finally:
            self.close()
