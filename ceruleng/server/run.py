"""Starting the service: the application on uvicorn, listening on one address, until SIGINT or SIGTERM.

Input: the rules paths, host, port and body limit (from `ceruleng serve`). Output: a running server; specs compile
before it listens, so a broken spec stops it with the same diagnostics `ceruleng check` prints.
"""

from __future__ import annotations

import re

from ceruleng.errors import InputError

SIZE = re.compile(r"([0-9]{1,15})\s*([kKmMgG]?)(i?[bB])?")
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """'10M', '512k', '1048576' → bytes (k, M, G are powers of 1024)."""
    found = SIZE.fullmatch(text.strip())
    if found is None:
        raise InputError(f"--max-body: '{text[:40]}' is not a size such as 1048576, 512k or 10M")
    size = int(found.group(1)) * UNITS[found.group(2).lower()]
    if size < 1:
        raise InputError("--max-body: the limit must be at least 1 byte")
    return size


def serve(rules: tuple[str, ...], host: str, port: int, max_body: int, access_log: bool = True) -> None:
    try:
        import uvicorn
    except ImportError as exc:
        raise InputError(f"ceruleng serve needs the 'server' extra ({exc.name or exc} is not installed): "
                         "pip install 'ceruleng[server]'") from None
    import signal

    from ceruleng.server.app import create_app

    if hasattr(signal, "SIGHUP"):  # a SIGHUP while the specs compile must not end the process; the app takes it over
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    app = create_app(rules, max_body)
    config = uvicorn.Config(app, host=host, port=port, access_log=access_log, log_level="info", lifespan="on",
                            server_header=False)
    uvicorn.Server(config).run()
