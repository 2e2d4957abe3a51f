"""A tiny scripted OpenAI-compatible HTTP server on 127.0.0.1, for the client's tests.

Each request pops the next behaviour from ``script`` (the last one repeats). It speaks
real HTTP and real SSE, so the client under test runs unchanged.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Behaviour = Callable[["_Handler", dict[str, Any]], None]


@dataclass
class Stub:
    base_url: str
    script: list[Behaviour]
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def next(self) -> Behaviour:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the connection closes after each reply: no chunking
    stub: Stub

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.stub.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self.stub.next()(self, body)


def reply(text: str) -> Behaviour:
    """Answer like a chat completion endpoint: JSON, or SSE when ``stream`` is set."""

    def run(handler: _Handler, body: dict[str, Any]) -> None:
        if not body.get("stream"):
            send_json(handler, 200, {
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "model": body.get("model"),
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            })
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        events = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
        events += [{"choices": [{"index": 0, "delta": {"content": word}}]}
                   for word in text.split(" ")[:1] + [" " + w for w in text.split(" ")[1:]]]
        events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        handler.wfile.write(b": keep-alive ping\n\n")
        for event in events:
            handler.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            handler.wfile.flush()
        handler.wfile.write(b"data: [DONE]\n\n")

    return run


def status(code: int, headers: dict[str, str] | None = None) -> Behaviour:
    def run(handler: _Handler, body: dict[str, Any]) -> None:
        send_json(handler, code, {"error": {"message": f"status {code}"}}, headers)

    return run


def sse_error(message: str) -> Behaviour:
    def run(handler: _Handler, body: dict[str, Any]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        handler.wfile.write(f"data: {json.dumps({'error': {'message': message}})}\n\n".encode())

    return run


def hang(handler: _Handler, body: dict[str, Any]) -> None:
    """A backend that accepted the request and never answers (until the test ends)."""
    handler.stub.release.wait(timeout=30)


def send_json(
    handler: _Handler, code: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


@contextmanager
def serve(*script: Behaviour) -> Iterator[Stub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    stub = Stub(base_url=f"http://{host!s}:{port}/v1", script=list(script))
    server.RequestHandlerClass = type("Handler", (_Handler,), {"stub": stub})
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.release.set()
        server.shutdown()
        server.server_close()


def refused_url() -> str:
    """A loopback URL where nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
