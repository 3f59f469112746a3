"""`python -m bench.middleware_stack`: what the app's middleware stack costs a request that is
not a cached tile, in-process: the stack of `create_app` around a bare ASGI endpoint (the router
replaced) against the bare endpoint alone. No database, no network."""

import asyncio
import time

from starlette.routing import Router

from gateway.app import create_app
from gateway.settings import Settings

REQUESTS = 20_000
TILE = b"/tiles/reports/14/9000/5000.mvt"


async def bare(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/vnd.mapbox-vector-tile")]})
    await send({"type": "http.response.body", "body": b"x"})


async def main() -> None:
    app = create_app(Settings(jwt_secret="x" * 40))
    stack = node = app.build_middleware_stack()
    names = []
    while True:
        names.append(type(node).__name__)
        if isinstance(node.app, Router):
            node.app = bare     # the router: replaced by the bare endpoint
            break
        node = node.app
    scope = {"type": "http", "method": "GET", "path": TILE.decode(), "raw_path": TILE,
             "query_string": b"", "headers": [(b"host", b"127.0.0.1"), (b"origin", b"http://x.org")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000), "scheme": "http",
             "root_path": "", "app": app}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    print(" > ".join(names))
    for endpoint, name in ((bare, "bare endpoint"), (stack, "middleware stack + endpoint")):
        start = time.perf_counter()
        for _ in range(REQUESTS):
            await endpoint(dict(scope), receive, send)
        print(f"{name}: {(time.perf_counter() - start) / REQUESTS * 1e6:.1f} us a request")


if __name__ == "__main__":
    asyncio.run(main())
