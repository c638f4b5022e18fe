"""The HTTP service as a platform meets it: a real `ceruleng serve` process on a free port of 127.0.0.1, spoken to over
HTTP with httpx (and, for the body limit, a raw socket that keeps sending).

It answers exactly what the command line prints (compared byte for byte with `ceruleng eval -` and `ceruleng
check --format json` run as subprocesses), refuses bad input with the CLI's own diagnostics, stops reading a body
the moment it passes --max-body, writes nothing to disk, serves concurrent requests, and reloads its specs on SIGHUP
without dropping one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

ROOT = Path(__file__).parent.parent
AS_OF = "2025-06-01"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
MAX_BODY = 256 * 1024


class Server:
    """A `ceruleng serve` subprocess in its own folder (rules copied there), with private temp and cache folders."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.folder = folder
        shutil.copytree(ROOT / "rules", folder / "rules")
        self.scratch = {name: folder / name for name in ("tmp", "home", "cache")}
        for path in self.scratch.values():
            path.mkdir()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, "TMPDIR": str(self.scratch["tmp"]), "HOME": str(self.scratch["home"]),
               "XDG_CACHE_HOME": str(self.scratch["cache"]), "CERULENG_CACHE_DIR": str(self.scratch["cache"]),
               "PYTHONDONTWRITEBYTECODE": "1"}
        self.log = (folder / "server.log").open("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ceruleng", "serve", "--rules", "rules", "--port", str(self.port),
             "--max-body", str(MAX_BODY), "--no-access-log", *extra],
            cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.url, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

    def output(self) -> str:
        if self.log.closed:
            return self.final
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def files(self) -> list[str]:
        """Every file in the server's folder and its temp/home/cache folders (the log aside)."""
        return sorted(str(p.relative_to(self.folder)) for p in self.folder.rglob("*") if p.name != "server.log")

    def stop(self) -> int:
        """SIGTERM, as a process manager stops it: uvicorn finishes the requests in flight, shuts the application
        down, then ends by the signal it got (so the exit status is -SIGTERM, or 0)."""
        self.client.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.final = self.output()
        finished = "Application shutdown complete" in self.final
        self.log.close()
        return 0 if code in (0, -signal.SIGTERM) and finished else code


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("serve"))
    yield running
    assert running.stop() == 0, running.output()
    assert "Traceback" not in running.output()


def _cli(server: Server, *arguments: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "ceruleng", *arguments], cwd=server.folder, input=stdin,
                          capture_output=True, check=False)


def _eval_stdin(server: Server, body: bytes, fmt: str, *extra: str) -> subprocess.CompletedProcess[bytes]:
    return _cli(server, "eval", "--rules", "rules", "-", "--as-of", AS_OF, "--format", fmt, *extra, stdin=body)


CASES = [(example, "json", ()) for example in EXAMPLES] + [
    (EXAMPLES[0], "table", ()), (EXAMPLES[4], "csv", ("--explain",)), (EXAMPLES[1], "jsonl", ()),
    (EXAMPLES[3], "html", ()), (EXAMPLES[5], "json", ("--explain",)), (EXAMPLES[2], "table", ("--explain",)),
]


@pytest.mark.parametrize(("example", "fmt", "extra"), CASES,
                         ids=[f"{e.stem}-{f}{'-explain' if x else ''}" for e, f, x in CASES])
def test_evaluate_answers_exactly_what_eval_prints(server: Server, example: Path, fmt: str,
                                                   extra: tuple[str, ...]) -> None:
    body = example.read_bytes()
    params = {"as_of": AS_OF, "format": fmt, **({"explain": "true"} if extra else {})}
    response = server.client.post("/v1/evaluate", params=params, content=body)
    done = _eval_stdin(server, body, fmt, *extra)
    assert done.returncode in (0, 1), done.stderr
    assert response.status_code == (200 if done.returncode == 0 else 422)
    assert response.headers["ceruleng-exit-code"] == str(done.returncode)
    assert response.content == done.stdout
    assert response.headers["content-type"].startswith({"json": "application/json", "table": "text/plain",
                                                        "csv": "text/csv", "jsonl": "application/x-ndjson",
                                                        "html": "text/html"}[fmt])


@pytest.mark.parametrize(("params", "extra"), [
    ({"reasons": "codes"}, ("--reasons", "codes")),
    ({"categories": "all", "format": "jsonl"}, ("--categories", "all")),
    ({"reasons": "codes", "explain": "true", "format": "jsonl"}, ("--reasons", "codes", "--explain")),
    ({"reasons": "none", "categories": "used"}, ("--reasons", "none")),
], ids=["codes", "all-categories", "codes-explain", "none"])
def test_reasons_and_categories_answer_what_eval_prints(server: Server, params: dict[str, str],
                                                         extra: tuple[str, ...]) -> None:
    body = EXAMPLES[0].read_bytes()
    fmt = params.get("format", "json")
    response = server.client.post("/v1/evaluate", params={"as_of": AS_OF, **params}, content=body)
    done = _eval_stdin(server, body, fmt, *extra)
    assert done.returncode in (0, 1), done.stderr
    assert response.status_code == (200 if done.returncode == 0 else 422)
    assert response.content == done.stdout


@pytest.mark.parametrize(("params", "message"), [
    ({"reasons": "codes", "format": "csv"}, "reasons=codes applies to format json and jsonl, not csv"),
    ({"categories": "all", "format": "table"}, "categories=all applies to format json and jsonl, not table"),
    ({"reasons": "words"}, "reasons: 'words' is not one of text, codes, none"),
    ({"categories": "some"}, "categories: 'some' is not one of used, all"),
])
def test_reasons_and_categories_the_format_cannot_take_get_400(server: Server, params: dict[str, str],
                                                                message: str) -> None:
    response = server.client.post("/v1/evaluate", params={"as_of": AS_OF, **params},
                                  content=EXAMPLES[0].read_bytes())
    assert response.status_code == 400
    assert response.json() == {"error": message}


def test_the_content_type_reads_the_body_as_input_format_would(server: Server) -> None:
    document = json.loads(json.dumps(yaml.safe_load(EXAMPLES[3].read_text()), default=str))
    pretty = json.dumps(document, indent=2).encode()  # several lines: sniffing alone would take it for JSON Lines
    for content_type, body, fmt in (("application/json", pretty, "json"),
                                    ("application/yaml; charset=utf-8", EXAMPLES[3].read_bytes(), "yaml"),
                                    ("application/x-ndjson", json.dumps(document).encode() + b"\n", "jsonl")):
        response = server.client.post("/v1/evaluate", params={"as_of": AS_OF}, content=body,
                                      headers={"Content-Type": content_type})
        done = _eval_stdin(server, body, "json", "--input-format", fmt)
        assert (response.status_code, response.content) == ({0: 200, 1: 422}[done.returncode], done.stdout)
        assert response.json()["members"][0]["member"] == document["member"], content_type


def test_a_json_lines_batch_with_bad_lines_gets_422_and_every_member(server: Server) -> None:
    body = (ROOT / "tests" / "hostile" / "activities" / "batch-hostile.jsonl").read_bytes()
    response = server.client.post("/v1/evaluate", params={"as_of": AS_OF}, content=body)
    done = _eval_stdin(server, body, "json")
    assert done.returncode == 1 and response.status_code == 422
    assert response.content == done.stdout
    document = response.json()
    assert document["summary"]["members"] == len([line for line in body.splitlines() if line.strip()])


@pytest.mark.parametrize(("params", "message"), [
    ({"as_of": "2025-13-01"}, "as_of:"),
    ({"format": "parquet"}, "format: 'parquet' is not one of"),
    ({"explain": "maybe"}, "explain: 'maybe' is not true or false"),
    ({"asof": AS_OF}, "unknown query parameter 'asof'"),
    ({"seed": "1e9"}, "seed:"),
    ({"input_format": "csv"}, "missing columns"),
])
def test_bad_parameters_get_400_and_one_clear_message(server: Server, params: dict[str, str], message: str) -> None:
    response = server.client.post("/v1/evaluate", params=params, content=EXAMPLES[0].read_bytes())
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_bodies_that_are_not_member_documents_get_the_cli_diagnostics(server: Server) -> None:
    for body in (b"\xff\xfe not utf-8", b'{"member": "M-1", "credentials": [', b"- just\n- a list\n", b""):
        response = server.client.post("/v1/evaluate", params={"as_of": AS_OF}, content=body)
        done = _eval_stdin(server, body, "json")
        assert (response.status_code, response.content) == ({0: 200, 1: 422}[done.returncode], done.stdout), body


def _check_cli(server: Server, name: str, text: bytes) -> subprocess.CompletedProcess[bytes]:
    path = server.folder / "rules" / name
    path.write_bytes(text)
    try:
        return _cli(server, "check", "--no-cache", "--format", "json", f"rules/{name}")
    finally:
        path.unlink()


def test_check_gives_the_diagnostics_check_prints(server: Server) -> None:
    clean = (ROOT / "rules" / "asap-pace.yaml").read_bytes()
    broken = clean.replace(b"credit: full_hours / hours_per_unit", b"credit: flor(full_hours) / hours_per_unt", 1)
    for name, text, status in (("pace-copy.yaml", clean, 200), ("pace-broken.yaml", broken, 422)):
        response = server.client.post("/v1/check", params={"name": name}, content=text)
        done = _check_cli(server, name, text)
        assert response.status_code == status and done.returncode == (0 if status == 200 else 1)
        assert response.content == done.stdout
    codes = {d["code"] for d in json.loads(response.content)["diagnostics"]}
    assert {"expr-unknown-function", "expr-unknown-name"} <= codes


@pytest.mark.parametrize("named", ["/etc/passwd", "../../etc/passwd", "sources/../../outside.txt", "link.txt"])
def test_check_reads_no_file_outside_the_rules_folder(server: Server, named: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the quote is here\n")
    link = server.folder / "rules" / "link.txt"
    if named == "link.txt" and not link.exists():
        link.symlink_to(secret)
    spec = (f"ceruleng: 1\nid: probe\ntitle: Probe\nsources:\n  doc: {{title: Probe, file: {json.dumps(named)}}}\n"
            "unit: {name: point, places: 1, source: {doc: doc, quote: the quote is here}}\n").encode()
    response = server.client.post("/v1/check", params={"name": "probe.yaml"}, content=spec)
    assert response.status_code == 422
    diagnostics = response.json()["diagnostics"]
    assert [(d["code"], d["line"]) for d in diagnostics] == [("io-error", 5)]
    assert "the quote" not in response.text and "root:" not in response.text


def test_specs_lists_ids_titles_and_versions(server: Server) -> None:
    listed = server.client.get("/v1/specs").json()
    assert listed["generation"] >= 1
    by_id = {spec["id"]: spec for spec in listed["specs"]}
    bundled = sorted(yaml.safe_load(path.read_text(encoding="utf-8"))["id"]
                     for path in (ROOT / "rules").glob("*.yaml"))
    assert len(bundled) >= 5 and sorted(by_id) == bundled
    pace = by_id["asap-pace"]
    digest = hashlib.sha256((server.folder / "rules" / "asap-pace.yaml").read_text().encode()).hexdigest()
    assert (pace["title"], pace["sha256"], pace["version"], pace["language_version"]) == (
        "PACE recertification", digest, digest[:12], "1")


def test_openapi_schemas_are_the_published_json_schemas(server: Server) -> None:
    api = server.client.get("/openapi.json").json()
    assert api["openapi"].startswith("3.1")
    schemas = api["components"]["schemas"]
    for name, component in (("spec", "Spec"), ("activities", "Activities"), ("result", "Result")):
        published = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
        definitions = {key.split(".", 1)[1]: value for key, value in schemas.items()
                       if key.startswith(f"{component}.")}
        rebuilt = json.loads(json.dumps({**schemas[component], "$defs": definitions} if definitions
                                        else schemas[component])
                             .replace(f'"#/components/schemas/{component}.', '"#/$defs/'))
        assert rebuilt == {k: v for k, v in published.items() if k not in ("$schema", "$id")}, name
    result = jsonschema.Draft202012Validator({**api, "$ref": "#/components/schemas/Result"})
    for example in EXAMPLES:
        result.validate(server.client.post("/v1/evaluate", params={"as_of": AS_OF},
                                           content=example.read_bytes()).json())
    assert set(api["paths"]) == {"/v1/evaluate", "/v1/check", "/v1/specs", "/healthz", "/openapi.json"}


def _raw(server: Server, head: bytes, chunks: Iterator[bytes], sent: list[int]) -> bytes:
    """Send a request by hand, body chunk by chunk, and return the first answer the server gives."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(head)
        connection.settimeout(0.05)
        answer = b""
        for chunk in chunks:
            try:
                connection.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent[0] += len(chunk)
            try:
                answer += connection.recv(65536)
            except TimeoutError:
                continue
            if answer:
                break
        connection.settimeout(30)
        while b"\r\n\r\n" not in answer:
            more = connection.recv(65536)
            if not more:
                break
            answer += more
        return answer


def test_a_body_over_the_limit_gets_413_before_it_is_all_sent(server: Server) -> None:
    declared = (f"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Length: {10**12}\r\n\r\n").encode()
    answer = _raw(server, declared, iter([b"{" * 1024] * 4), [0])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    sent = [0]
    chunked = b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    piece = b"4000\r\n" + b" " * 0x4000 + b"\r\n"  # 16 KiB chunks, without end: 64 MiB if the server read on
    answer = _raw(server, chunked, iter([piece] * 4096), sent)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent[0] < 64 * MAX_BODY  # it answered long before the body would have ended
    assert b"--max-body" in answer or b"413" in answer
    response = server.client.post("/v1/evaluate", params={"as_of": AS_OF}, content=b" " * (MAX_BODY - 1))
    assert response.status_code == 422  # just under the limit: read and answered (an empty document)
    assert server.client.post("/v1/check", content=b"#" * (MAX_BODY + 1)).status_code == 413


@pytest.mark.parametrize("path", ["/v1/evaluate", "/v1/check"])
def test_a_client_that_hangs_up_mid_body_is_no_internal_error(server: Server, path: str) -> None:
    """A body cut short (the client closes after part of its declared length) is the client's doing: the service
    logs no internal error and no traceback, and goes on answering."""
    before = server.output()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\nmember: M-1\n".encode())
        connection.shutdown(socket.SHUT_WR)
        assert connection.recv(65536) == b""  # nothing to answer: the request never ended
    assert server.client.get("/healthz").status_code == 200
    after = server.output()[len(before):]
    assert "Traceback" not in after and "internal error" not in after, after


def test_concurrent_requests_each_get_their_own_answer(server: Server) -> None:
    bodies = [json.dumps({"member": f"M-{n}", "credentials": [{"spec": "asap-pace", "certified_on": "2023-06-15"}],
                          "activities": [{"id": "A1", "type": "training", "date": "2024-05-10",
                                          "minutes": 60 * (1 + n % 7), "topic": "Management Skills"}]}).encode()
              for n in range(48)]
    expected = {body: server.client.post("/v1/evaluate", params={"as_of": AS_OF}, content=body).content
                for body in bodies[:7]}

    def ask(share: list[bytes]) -> list[tuple[bytes, int, bytes]]:
        with httpx.Client(base_url=server.url, timeout=60) as client:  # one connection per thread, kept alive
            return [(body, response.status_code, response.content) for body in share
                    for response in [client.post("/v1/evaluate", params={"as_of": AS_OF}, content=body)]]

    work = bodies * 2
    with ThreadPoolExecutor(8) as pool:
        answers = [answer for answered in pool.map(ask, [work[n::8] for n in range(8)]) for answer in answered]
    assert len(answers) == len(work)
    assert all(status == 200 for _, status, _ in answers)
    for body, _, content in answers:
        member = json.loads(content)["members"][0]
        assert member["member"] == json.loads(body)["member"]
        if body in expected:
            assert content == expected[body]


def test_nothing_is_written_to_disk(server: Server) -> None:
    before = server.files()
    for example in EXAMPLES:
        for fmt in ("json", "html", "csv", "table"):
            server.client.post("/v1/evaluate", params={"as_of": AS_OF, "format": fmt, "explain": "1"},
                               content=example.read_bytes())
    server.client.post("/v1/check", params={"name": "x.yaml"}, content=(ROOT / "rules" / "ace.yaml").read_bytes())
    server.client.post("/v1/evaluate", content=b"x" * (MAX_BODY + 10))
    assert server.files() == before


class Askers:
    """Threads that keep asking the server to score a member until stopped, recording every failure."""

    def __init__(self, server: Server, body: bytes, count: int = 4) -> None:
        self.server, self.body = server, body
        self.failures: list[Any] = []
        self.answered = 0
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.ask) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def ask(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=60) as client:
            while not self.done.is_set():
                try:
                    response = client.post("/v1/evaluate", params={"as_of": AS_OF}, content=self.body)
                    if response.status_code != 200 or response.json()["summary"]["members"] != 1:
                        self.failures.append((response.status_code, response.text[:200]))
                    self.answered += 1
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))

    def stop(self) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join()


def _health_until(server: Server, wanted: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health: dict[str, Any] = server.client.get("/healthz").json()
        if wanted(health):
            return health
        time.sleep(0.05)
    raise AssertionError(f"the server never got there: {server.output()}")


def test_sighup_reloads_the_specs_without_dropping_requests(tmp_path: Path) -> None:
    running = Server(tmp_path)
    spec = tmp_path / "rules" / "asap-pace.yaml"
    original = spec.read_text()
    askers = Askers(running, (ROOT / "examples" / "pace-member.yaml").read_bytes())  # scored all along
    try:
        spec.write_text(original.replace("title: PACE recertification", "title: PACE recertification (v2)", 1))
        running.process.send_signal(signal.SIGHUP)
        _health_until(running, lambda health: health["generation"] == 2)
        titles = {s["id"]: s["title"] for s in running.client.get("/v1/specs").json()["specs"]}
        assert titles["asap-pace"] == "PACE recertification (v2)"
        spec.write_text(original.replace("credit: 0.1\n", "credit: 0.1 +\n", 1))  # broken: keep generation 2
        running.process.send_signal(signal.SIGHUP)
        health = _health_until(running, lambda health: health["last_reload_error"] is not None)
        assert health["generation"] == 2 and "expr-syntax" in health["last_reload_error"]
        spec.write_text(original)
        for _ in range(3):  # signals in a burst: reloads coalesce, none is lost, none overlaps
            running.process.send_signal(signal.SIGHUP)
        health = _health_until(running, lambda health: health["generation"] >= 3)
        assert health["last_reload_error"] is None
        time.sleep(0.5)
    finally:
        askers.stop()
    assert not askers.failures, askers.failures[:3]
    assert askers.answered > 20
    assert running.client.get("/healthz").json()["generation"] in (3, 4)
    assert "reload failed; still serving generation 2" in running.output()
    assert running.stop() == 0


def test_broken_specs_stop_the_server_before_it_listens(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    (folder / "asap-pace.yaml").write_text((ROOT / "rules" / "asap-pace.yaml").read_text().replace(
        "credit: full_hours / hours_per_unit", "credit: flor(full_hours)", 1))
    done = subprocess.run([sys.executable, "-m", "ceruleng", "serve", "--rules", str(folder), "--port", "1"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "error[expr-unknown-function]" in done.stderr and "Traceback" not in done.stderr


def test_serve_help_documents_every_option() -> None:
    done = subprocess.run([sys.executable, "-m", "ceruleng", "serve", "--help"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0
    for option in ("--rules", "--host", "--port", "--max-body", "--no-access-log", "/v1/evaluate", "/v1/check",
                   "/v1/specs", "/healthz", "/openapi.json", "SIGHUP"):
        assert option in done.stdout, option
