"""A real HTTP server for the URL tests: stdlib ThreadingHTTPServer on 127.0.0.1.

It serves files under the paths it is given, answers 404 for any other path, and can be told
to misbehave for a path: a scripted sequence of answers (consumed one per request, then
normal service) or a status it keeps answering until cleared. Every request is recorded with
its arrival time, path and User-Agent, so tests measure what reached the server.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Seen:
    time: float  # time.time() on arrival
    path: str  # without the query
    user_agent: str | None
    answer: str  # what the server did: "200", "404", "429", "slow", "truncated", …


# Scripted answers: ("status", code, {headers}) | ("slow", seconds) | ("truncate",)
Action = tuple


class FilingServer:
    def __init__(self) -> None:
        self.routes: dict[str, Path] = {}
        self.gzip_paths: set[str] = set()  # gzip these when the client accepts it
        self.requests: list[Seen] = []
        self._scripts: dict[str, deque[Action]] = {}
        self._always: dict[str, int] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FilingServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, path: str, file: Path, gzip: bool = False) -> str:
        """Serve ``file`` at ``path``; return its URL."""
        self.routes[path] = file
        if gzip:
            self.gzip_paths.add(path)
        return self.base + path

    def script(self, path: str, *actions: Action) -> None:
        with self._lock:
            self._scripts[path] = deque(actions)

    def always(self, path: str, status: int | None) -> None:
        """Answer ``status`` to every request for ``path`` (None: serve it again)."""
        with self._lock:
            if status is None:
                self._always.pop(path, None)
            else:
                self._always[path] = status

    def seen(self, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def _next(self, path: str) -> Action:
        with self._lock:
            if path in self._always:
                return ("status", self._always[path], {})
            script = self._scripts.get(path)
            return script.popleft() if script else ("ok",)

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)


def _handler(server: FilingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            arrived = time.time()
            path = urlsplit(self.path).path
            action = server._next(path)
            answer = action[0] if action[0] != "status" else str(action[1])
            if action[0] == "ok" and path not in server.routes:
                action, answer = ("status", 404, {}), "404"
            server._record(Seen(arrived, path, self.headers.get("User-Agent"), answer))
            try:
                self._answer(path, action)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout we provoked)

        def _answer(self, path: str, action: Action) -> None:
            if action[0] == "status":
                _, code, headers = action
                body = f"{code}\n".encode()
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if action[0] == "slow":
                time.sleep(action[1])  # before the status line: the client's read times out
            body = server.routes[path].read_bytes()
            encoded = (
                path in server.gzip_paths and "gzip" in (self.headers.get("Accept-Encoding") or "")
            )
            if encoded:
                body = gzip.compress(body)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            if encoded:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if action[0] == "truncate":
                self.wfile.write(body[: len(body) // 2])  # then the connection closes
            else:
                self.wfile.write(body)

    return Handler
