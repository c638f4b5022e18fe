"""The ASGI application: scoring and checking over HTTP, answering exactly what the command line prints.

Input: HTTP requests. Output: responses —
- `POST /v1/evaluate` (a member document, or JSON Lines; `as_of`, `explain`, `format`, `input_format`, `seed`,
  and for json and jsonl `reasons` and `categories`):
  the bytes `ceruleng eval --format F [--input-format I] -` prints for the same body on stdin (the body is read by
  the same reader, so the input is labelled `<stdin>`; I is `input_format`, else what the Content-Type declares —
  application/json, application/x-ndjson, application/yaml, text/csv — else sniffed as stdin is); 200 when every
  record was scored, 422 when some input was malformed (eval's exit 1; the body is still the full result), 400 for
  a parameter or body that cannot be used (eval's exit 2);
- `POST /v1/check` (a spec's YAML; `name`): what `ceruleng check --format json` prints for it, as if the spec lay in
  the rules folder; 200 clean, 422 errors; a spec naming a file outside the rules folder is refused (`io-error`);
- `GET /v1/specs`, `GET /healthz`, `GET /openapi.json`.

Bodies over `max_body` bytes get 413 as soon as the declared length or the bytes received pass it: the service
never reads more. Nothing is written to disk: bodies, results and reports live in memory. Scoring and checking run
in worker threads, so the event loop keeps accepting requests; the specs are the registry's snapshot of the moment
the request began (SIGHUP reloads them, see `registry`).
"""

from __future__ import annotations

import asyncio
import io
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path, PurePosixPath

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ceruleng import __version__
from ceruleng.errors import CerulengError, Diagnostic
from ceruleng.report.cells import encodable
from ceruleng.server.openapi import document
from ceruleng.server.registry import Loaded, Registry

MEDIA = {"json": "application/json", "jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8",
         "table": "text/plain; charset=utf-8", "html": "text/html; charset=utf-8"}
INPUT_FORMATS = ("yaml", "json", "jsonl", "csv")
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")
SPEC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
DEFAULT_MAX_BODY = 10 * 1024 * 1024


INLINE_BYTES = 64 * 1024
"""Bodies up to this size are scored on the event loop (a few milliseconds at most); larger ones in a worker thread,
so a big batch never holds up other requests."""
DECLARED = {"application/json": "json", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl",
            "application/x-jsonlines": "jsonl", "application/yaml": "yaml", "application/x-yaml": "yaml",
            "text/yaml": "yaml", "text/csv": "csv"}
"""Content-Type → how the body is read, as `eval --input-format` would (other types: sniffed, as stdin is)."""


def _declared_format(content_type: str | None) -> str | None:
    return DECLARED.get((content_type or "").split(";", 1)[0].strip().lower())


class BadRequest(Exception):
    """A query parameter or body the service cannot use: 400, with the message."""


class BodyTooLarge(Exception):
    """413: the body is over the limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (BodyTooLarge) the moment its declared length or the bytes so far pass `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit() or len(declared) > 20:
            raise BadRequest("Content-Length is not a number of bytes")
        if int(declared) > limit:
            raise BodyTooLarge
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _query(request: Request, known: tuple[str, ...]) -> Mapping[str, str]:
    params = request.query_params
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise BadRequest(f"unknown query parameter '{unknown[0]}' (known: {', '.join(known)})")
    for name in params:
        if len(params.getlist(name)) > 1:
            raise BadRequest(f"query parameter '{name}' is given more than once")
    return params


def _choice(params: Mapping[str, str], name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    value = params.get(name, default)
    if value is not None and value not in choices:
        raise BadRequest(f"{name}: '{value[:40]}' is not one of {', '.join(choices)}")
    return value


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise BadRequest(f"{name}: '{value[:40]}' is not true or false")


def _day(params: Mapping[str, str]) -> date:
    from ceruleng.values import parse_iso_date

    value = params.get("as_of")
    if value is None:
        return date.today()
    try:
        return parse_iso_date(value[:40])
    except ValueError as exc:
        raise BadRequest(f"as_of: {exc}") from None


def _seed(params: Mapping[str, str]) -> int:
    value = params.get("seed", "0")
    if not re.fullmatch(r"-?[0-9]{1,19}", value):
        raise BadRequest(f"seed: '{value[:40]}' is not a whole number")
    return int(value)


def _json_only(params: Mapping[str, str], output: str) -> tuple[str, str]:
    """`reasons` and `categories`, which shape the JSON formats only (as `eval` refuses them for the others)."""
    from ceruleng.scoring.encode import CATEGORIES, REASONS

    reasons = _choice(params, "reasons", REASONS, "text") or "text"
    categories = _choice(params, "categories", CATEGORIES, "used") or "used"
    for name, value, default in (("reasons", reasons, "text"), ("categories", categories, "used")):
        if value != default and output not in ("json", "jsonl"):
            raise BadRequest(f"{name}={value} applies to format json and jsonl, not {output}")
    return reasons, categories


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


# ---- scoring and checking, in worker threads ------------------------------------------------------------------


def score_body(loaded: Loaded, body: bytes, output: str, day: date, explain: bool, seed: int,
               input_format: str | None, reasons: str = "text", categories: str = "used") -> tuple[str, bool]:
    """What `ceruleng eval - --format OUTPUT` prints for this body on stdin, and whether any input was malformed."""
    from ceruleng.batch import score_items
    from ceruleng.engine import Evaluator
    from ceruleng.inputs import read_stream
    from ceruleng.report.writers import ReportOptions, writer_class

    stream = io.StringIO()
    writer = writer_class(output)(stream, day, __version__, ReportOptions(explain, False, loaded.facts, reasons,
                                                                          categories))
    evaluator = Evaluator(loaded.specs, day, explain, seed, loaded.shared_scorers(explain))
    items = read_stream(io.BufferedReader(io.BytesIO(body)), "<stdin>", input_format)
    malformed = score_items(evaluator, items, writer)
    writer.close()
    return stream.getvalue(), malformed


def file_problems(text: str, path: str, folder: Path) -> list[Diagnostic]:
    """`file:` entries (sources, tables) that name anything but a regular file inside the rules folder."""
    from ceruleng.yamlsrc import load_yaml

    loaded, _ = load_yaml(text, path)
    data = loaded.data if loaded is not None else None
    if not isinstance(data, dict):
        return []
    assert loaded is not None
    root = folder.resolve()
    problems = []
    for section in ("sources", "tables"):
        entries = data.get(section)
        for key, entry in entries.items() if isinstance(entries, dict) else ():
            named = entry.get("file") if isinstance(entry, dict) else None
            if not isinstance(named, str):
                continue
            relative = PurePosixPath(named)
            target = (root / named).resolve()
            outside = relative.is_absolute() or ".." in relative.parts or "\\" in named or \
                not target.is_relative_to(root) or (target.exists() and not target.is_file())
            if outside:
                problems.append(Diagnostic(
                    "io-error", f"'{named[:200]}': the service reads only regular files inside its rules folder",
                    loaded.span((section, key, "file")),
                    hint="name a file beside the spec, such as sources/policy.txt"))
    return problems


def check_body(body: bytes, name: str, folder: Path) -> tuple[str, bool]:
    """What `ceruleng check --format json FOLDER/NAME` prints for this spec text, and whether it has errors."""
    from ceruleng.engine import check_text
    from ceruleng.files import decode
    from ceruleng.report.diagnostics import FileDiagnostics, render_json

    path = str(folder / name)
    text, problem = decode(body, path)
    if text is None:
        assert problem is not None
        diagnostics, source = [problem], None
    else:
        diagnostics = file_problems(text, path, folder)
        source = None
        if not diagnostics:
            checked = check_text(text, path, generate=False)
            diagnostics, source = checked.diagnostics, checked.source
    report = render_json([FileDiagnostics(path, source, diagnostics)])
    return report, any(d.is_error for d in diagnostics)


# ---- the application ------------------------------------------------------------------------------------------


class Service:
    """The specs, the limits and the handlers of one running service."""

    def __init__(self, rules: tuple[str, ...], max_body: int = DEFAULT_MAX_BODY, registry: Registry | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.rules = rules
        self.max_body = max_body
        self.specs = registry or Registry(rules)
        self.say = log or (lambda message: print(f"ceruleng serve: {message}", file=sys.stderr, flush=True))
        first = Path(rules[0]) if rules else Path("rules")
        self.folder = first if first.is_dir() else first.parent
        self.api = document(__version__, max_body)
        self.reloading: asyncio.Task[None] | None = None
        self.again = False

    # ---- reloading on SIGHUP ----

    async def reload(self) -> None:
        while True:
            self.again = False
            if await run_in_threadpool(self.specs.reload):
                self.say(f"reloaded {len(self.specs.current.specs)} specs "
                         f"(generation {self.specs.current.generation})")
            else:
                self.say(f"reload failed; still serving generation {self.specs.current.generation}:\n"
                         f"{self.specs.last_error}")
            if not self.again:
                break
        self.reloading = None

    def on_hangup(self) -> None:
        if self.reloading is not None:
            self.again = True  # a SIGHUP during a reload: load once more when it ends
            return
        self.reloading = asyncio.get_running_loop().create_task(self.reload())

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        hangup = getattr(signal, "SIGHUP", None)
        if hangup is not None:
            try:
                loop.add_signal_handler(hangup, self.on_hangup)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or not a POSIX loop
                hangup = None
        self.say(f"serving {len(self.specs.current.specs)} specs from {', '.join(self.rules)} (send SIGHUP to "
                 "reload them)")
        yield
        if hangup is not None:
            loop.remove_signal_handler(hangup)

    # ---- the endpoints ----

    async def evaluate(self, request: Request) -> Response:
        loaded = self.specs.current
        params = _query(request, ("as_of", "explain", "format", "input_format", "seed", "reasons", "categories"))
        output = _choice(params, "format", tuple(MEDIA), "json") or "json"
        input_format = _choice(params, "input_format", INPUT_FORMATS, None)
        day, explain, seed = _day(params), _flag(params, "explain"), _seed(params)
        reasons, categories = _json_only(params, output)
        body = await read_body(request, self.max_body)
        input_format = input_format or _declared_format(request.headers.get("content-type"))
        try:
            if len(body) <= INLINE_BYTES:  # a member or two: scored at once, cheaper than a hop to a thread
                text, malformed = score_body(loaded, body, output, day, explain, seed, input_format, reasons,
                                             categories)
            else:
                text, malformed = await run_in_threadpool(score_body, loaded, body, output, day, explain, seed,
                                                          input_format, reasons, categories)
        except CerulengError as exc:
            raise BadRequest(str(exc)) from None
        return Response(encodable(text).encode("utf-8"), 422 if malformed else 200, media_type=MEDIA[output],
                        headers={"Ceruleng-Exit-Code": "1" if malformed else "0",
                                 "Ceruleng-Generation": str(loaded.generation)})

    async def check(self, request: Request) -> Response:
        params = _query(request, ("name",))
        name = params.get("name", "spec.yaml")
        if not SPEC_NAME.fullmatch(name):
            raise BadRequest("name: a file name of letters, digits, '.', '_' and '-' (no folders), such as "
                             "policy.yaml")
        if not name.endswith((".yaml", ".yml")):
            name += ".yaml"
        body = await read_body(request, self.max_body)
        report, failed = await run_in_threadpool(check_body, body, name, self.folder)
        return Response(encodable(report).encode("utf-8"), 422 if failed else 200, media_type=MEDIA["json"])

    async def listing(self, request: Request) -> Response:
        loaded = self.specs.current
        return JSONResponse({"generation": loaded.generation, "loaded_at": loaded.loaded_at,
                             "specs": loaded.listing})

    async def health(self, request: Request) -> Response:
        loaded = self.specs.current
        return JSONResponse({"status": "ok", "generation": loaded.generation, "specs": len(loaded.specs),
                             "loaded_at": loaded.loaded_at, "reloads": self.specs.reloads,
                             "last_reload_error": self.specs.last_error})

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self.api)

    # ---- errors ----

    async def bad_request(self, request: Request, exc: Exception) -> Response:
        return _error(400, str(exc))

    async def too_large(self, request: Request, exc: Exception) -> Response:
        return _error(413, f"the body is over the limit of {self.max_body} bytes (--max-body)")

    async def gone(self, request: Request, exc: Exception) -> Response:
        """The client hung up before its body was all sent: nobody reads the answer, and it is not the service's
        error (it was logged as an internal one, with a traceback)."""
        return _error(400, "the client closed the connection before the body was complete")

    async def internal(self, request: Request, exc: Exception) -> Response:
        self.say(f"internal error: {type(exc).__name__}: {exc}")
        return _error(500, f"internal error: {type(exc).__name__} (please report it)")

    def app(self) -> Starlette:
        routes = [Route("/v1/evaluate", self.evaluate, methods=["POST"]),
                  Route("/v1/check", self.check, methods=["POST"]),
                  Route("/v1/specs", self.listing, methods=["GET"]),
                  Route("/healthz", self.health, methods=["GET"]),
                  Route("/openapi.json", self.openapi, methods=["GET"])]
        return Starlette(routes=routes, lifespan=self.lifespan,
                         exception_handlers={BadRequest: self.bad_request, BodyTooLarge: self.too_large,
                                             ClientDisconnect: self.gone, Exception: self.internal})


def create_app(rules: tuple[str, ...], max_body: int = DEFAULT_MAX_BODY, registry: Registry | None = None,
               log: Callable[[str], None] | None = None) -> Starlette:
    """The service for the specs under `rules` (compiled now: a broken spec raises before anything listens)."""
    return Service(rules, max_body, registry, log).app()
