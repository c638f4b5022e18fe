"""Benchmark of `ceruleng serve`: requests per second for one-member documents, against in-process `evaluate()`.

Generates a deterministic membership (bench/run.py's generator: every bundled spec, ten activities a member),
then measures in one run, side by side:
- in process: `ceruleng.evaluate(spec, document)` per member (the public one-call API), and the same with the
  result rendered as JSON text (what the service sends back);
- the service: a real `ceruleng serve` on a free port of 127.0.0.1, one member document per `POST /v1/evaluate`,
  from one keep-alive client, then from several concurrent clients.
It prints requests/s for each and the ratios to in-process scoring. Standard library, ceruleng and httpx (to wait
for the server to start).

    python bench/serve_bench.py [--members 400] [--clients 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402 - after the path set-up above
from run import membership  # noqa: E402

from ceruleng.engine import evaluate, load_specs  # noqa: E402

AS_OF = date(2025, 6, 1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def in_process(specs: dict[str, Any], documents: list[dict[str, Any]], render: bool) -> float:
    """Members scored per second through `evaluate()`, one call per member (and per credential's spec)."""
    start = time.perf_counter()
    for document in documents:
        for spec_id in dict.fromkeys(c["spec"] for c in document["credentials"]):
            result = evaluate(specs[spec_id], document, AS_OF)
            if render:
                result.json_text()
    return len(documents) / (time.perf_counter() - start)


def start_server(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "ceruleng", "serve", "--rules", "rules", "--port", str(port),
                                "--no-access-log"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def served(port: int, bodies: list[bytes], clients: int) -> float:
    """Requests per second: each body one POST /v1/evaluate (Content-Type: application/json), spread over `clients`
    keep-alive connections (the standard library's client: the lightest, as the client shares the machine)."""
    shares = [bodies[index::clients] for index in range(clients)]
    target = f"/v1/evaluate?as_of={AS_OF.isoformat()}"

    def run(share: list[bytes]) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for body in share:
            connection.request("POST", target, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
            if response.status not in (200, 422):
                raise SystemExit(f"unexpected {response.status}: {answer[:200]!r}")
        connection.close()
        return len(share)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = sum(pool.map(run, shares))
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=400)
    parser.add_argument("--clients", type=int, default=4)
    options = parser.parse_args()
    specs = load_specs([str(ROOT / "rules")])
    documents = list(membership(specs, options.members, 10))
    bodies = [json.dumps(document).encode() for document in documents]
    port = free_port()
    process = start_server(port)
    try:
        served(port, bodies[:50], 1)  # warm up both sides
        in_process(specs, documents[:50], True)
        figures = {
            "in-process evaluate()": in_process(specs, documents, False),
            "in-process evaluate() + JSON text": in_process(specs, documents, True),
            "serve, 1 client": served(port, bodies, 1),
            f"serve, {options.clients} clients": served(port, bodies, options.clients),
        }
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    base = figures["in-process evaluate()"]
    print(f"one-member documents, 10 activities each, {options.members} members; {os.cpu_count()} cores; "
          f"Python {sys.version.split()[0]}")
    for name, rate in figures.items():
        print(f"  {name:36} {rate:9,.0f} /s   {rate / base:5.2f}× in-process evaluate()")


if __name__ == "__main__":
    main()
