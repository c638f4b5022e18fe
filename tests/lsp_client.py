"""A small Language Server Protocol client for tests and the latency benchmark: drives `ceruleng lsp` as an editor
does, in a real subprocess over stdio (Content-Length framed JSON-RPC), with nothing of the server imported.

Input: requests and notifications built as plain dicts. Output: responses, and the server's notifications
(`textDocument/publishDiagnostics` above all) collected as they arrive, each stamped with its arrival time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any


class ServerError(Exception):
    """The server answered a request with a JSON-RPC error."""


class LspClient:
    def __init__(self, command: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "ceruleng", "lsp"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.condition = threading.Condition()
        self.responses: dict[int, dict[str, Any]] = {}
        self.notifications: list[tuple[float, dict[str, Any]]] = []
        self.stderr: list[str] = []
        self.next_id = 0
        self.closed = False
        assert self.process.stdout is not None and self.process.stderr is not None
        self.reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self.reader.start()
        threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True).start()

    # ---- wire ----------------------------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def _read(self, stream: IO[bytes]) -> None:
        try:
            while True:
                headers: dict[str, str] = {}
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    headers[name.strip().lower()] = value.strip()
                message = json.loads(stream.read(int(headers["content-length"])))
                self._received(message)
        finally:
            with self.condition:
                self.closed = True
                self.condition.notify_all()

    def _received(self, message: dict[str, Any]) -> None:
        if "id" in message and "method" in message:  # a request from the server (registerCapability, ...)
            self._send({"id": message["id"], "result": None})
            return
        with self.condition:
            if "id" in message:
                self.responses[message["id"]] = message
            else:
                self.notifications.append((time.perf_counter(), message))
            self.condition.notify_all()

    def _drain(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.stderr.append(line.decode("utf-8", "replace"))

    # ---- protocol ----------------------------------------------------------------------------------------------

    def request(self, method: str, params: dict[str, Any], timeout: float = 30) -> Any:
        self.next_id += 1
        number = self.next_id
        self._send({"id": number, "method": method, "params": params})
        with self.condition:
            if not self.condition.wait_for(lambda: number in self.responses or self.closed, timeout):
                raise TimeoutError(f"no answer to {method} in {timeout} s")
            if number not in self.responses:
                raise ConnectionError(f"the server closed the connection; stderr: {''.join(self.stderr)}")
            response = self.responses.pop(number)
        if "error" in response:
            raise ServerError(response["error"])
        return response.get("result")

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self._send({"method": method, "params": params})

    def initialize(self, root: Path, capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": capabilities or {}})
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": version,
                                                              "text": text}})

    def change(self, uri: str, version: int, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        """An incremental edit: replace the range (line, UTF-16 column) start..end with `text`."""
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": {"line": start[0], "character": start[1]},
                                          "end": {"line": end[0], "character": end[1]}}, "text": text}]})

    def diagnostics(self, uri: str, version: int | None = None, timeout: float = 30,
                    after: int = 0) -> tuple[float, dict[str, Any]]:
        """The first diagnostics for `uri` (of `version`, when given) among notifications from index `after` on."""

        def found() -> tuple[float, dict[str, Any]] | None:
            for stamp, message in self.notifications[after:]:
                params = message.get("params", {})
                if message.get("method") == "textDocument/publishDiagnostics" and params.get("uri") == uri and \
                        (version is None or params.get("version") == version):
                    return stamp, params
            return None

        with self.condition:
            if not self.condition.wait_for(lambda: found() is not None or self.closed, timeout):
                raise TimeoutError(f"no diagnostics for {uri} version {version} in {timeout} s")
            result = found()
        if result is None:
            raise ConnectionError(f"the server closed the connection; stderr: {''.join(self.stderr)}")
        return result

    def shutdown(self) -> int:
        """Shut the server down as an editor does; its exit code."""
        self.request("shutdown", {})
        self.notify("exit", {})
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def utf16_column(line: str, column: int) -> int:
    """A code-point column of `line` in UTF-16 code units, as an editor counts it."""
    return len(line[:column].encode("utf-16-le")) // 2
