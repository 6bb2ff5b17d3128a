"""The scripted model behind a real OpenAI-compatible HTTP endpoint on 127.0.0.1.

The demo starts it by itself on a free port the first time an agent needs it, and stops it
when the process exits; ``model_server()`` gives a private one for a ``with`` block.
"""

from __future__ import annotations

import atexit
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._policy import complete


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
            if not self.path.endswith("/chat/completions") or not isinstance(request, dict):
                raise ValueError(f"unsupported path {self.path}")
            body = json.dumps(complete(request)).encode()
            status = 200
        except (ValueError, KeyError, TypeError) as exc:
            body = json.dumps({"error": {"message": str(exc), "type": "invalid_request"}}).encode()
            status = 400
        except Exception as exc:  # a bug in the scripted policy: an error the SDK reports
            message = f"scripted model failed: {type(exc).__name__}: {exc}"
            body = json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
            status = 500
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class ModelServer:
    """One running server; ``url`` is the base URL to give an OpenAI client (``/v1``)."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="retake-demo-model", daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/v1"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


_shared: ModelServer | None = None
_lock = threading.Lock()


def shared_url() -> str:
    """The URL of the process's demo model server, started on first use."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = ModelServer()
            atexit.register(_shared.stop)
        return _shared.url


@contextmanager
def model_server() -> Iterator[str]:
    """A private server for the block; yields its URL."""
    server = ModelServer()
    try:
        yield server.url
    finally:
        server.stop()
