"""`python -m bench.middleware_stack`: what the app's middleware stack costs a request that is
not a cached tile, in-process: the stack of `create_app` around a bare ASGI endpoint (the router
replaced) against the bare endpoint alone. No database, no network.

The stack is measured twice: with the request id, access line and metrics (gateway.observe,
THREATMAP_METRICS=on, JSON access lines at INFO formatted and written to /dev/null, as
`threatmap serve` writes them to stderr) and without them (metrics off, logging at WARNING: the
Observe layer still sets the request id); the difference is what logs and metrics cost."""

import asyncio
import logging
import os
import time

from starlette.routing import Router

from gateway.app import create_app
from gateway.logs import configure_logging
from gateway.settings import Settings

REQUESTS = 20_000
ROUNDS = 10
TILE = b"/tiles/reports/14/9000/5000.mvt"


async def bare(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/vnd.mapbox-vector-tile")]})
    await send({"type": "http.response.body", "body": b"x"})


def stack_of(settings: Settings) -> tuple[object, list[str], object]:
    app = create_app(settings)
    stack = node = app.build_middleware_stack()
    names = []
    while True:
        names.append(type(node).__name__)
        if isinstance(node.app, Router):
            node.app = bare     # the router: replaced by the bare endpoint
            break
        node = node.app
    return stack, names, app


async def main() -> None:
    devnull = open(os.devnull, "w")  # noqa: SIM115 (open for the whole run)
    configure_logging("json", "INFO", devnull)
    observed, names, app = stack_of(Settings(jwt_secret="x" * 40, metrics="on"))
    quiet, _, _ = stack_of(Settings(jwt_secret="x" * 40, metrics="off"))
    scope = {"type": "http", "method": "GET", "path": TILE.decode(), "raw_path": TILE,
             "query_string": b"", "headers": [(b"host", b"127.0.0.1"), (b"origin", b"http://x.org")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000), "scheme": "http",
             "root_path": "", "app": app}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    print(" > ".join(names))
    cases = ((bare, "bare endpoint", logging.INFO),
             (quiet, "middleware stack + endpoint, metrics off, no access lines", logging.WARNING),
             (observed, "middleware stack + endpoint, metrics on, JSON access lines", logging.INFO))
    # CPU time of this thread (time.thread_time), not wall time: on a shared machine the wall
    # clock counts the time other processes had the core. In rounds, the cases taking turns,
    # the fastest round of each kept.
    best = [float("inf")] * len(cases)
    per_round = REQUESTS // ROUNDS
    for _ in range(ROUNDS):
        for n, (endpoint, _name, level) in enumerate(cases):
            logging.getLogger().setLevel(level)
            start = time.thread_time()
            for _ in range(per_round):
                await endpoint(dict(scope), receive, send)
            best[n] = min(best[n], (time.thread_time() - start) / per_round)
    for (_endpoint, name, _level), seconds in zip(cases, best, strict=True):
        print(f"{name}: {seconds * 1e6:.1f} us of CPU a request (fastest of {ROUNDS} rounds)")


if __name__ == "__main__":
    asyncio.run(main())
