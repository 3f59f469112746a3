"""GraphQL multipart requests (file uploads: the photos of `submitReport`, docs/photos.md).

strawberry parses them (`multipart_uploads_enabled`) but has no CSRF check of its own on ASGI,
and a `multipart/form-data` POST is a "simple" request that any page on any origin can make a
browser send without asking (no CORS preflight). So, as Apollo Server's CSRF prevention does, a
multipart request must carry a header a browser only sends after a preflight, which our CORS
policy answers: `GraphQL-Require-Preflight` (or Apollo's `Apollo-Require-Preflight`), any
non-empty value. Without it: 400, code PREFLIGHT_REQUIRED, before the body is read."""

import json
from typing import Any

from cross_web import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

PREFLIGHT_HEADERS = (b"graphql-require-preflight", b"apollo-require-preflight")
PREFLIGHT_HEADER = "GraphQL-Require-Preflight"   # the one the docs and our pages use


def is_multipart(scope: Scope) -> bool:
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    return content_type.split(b";")[0].strip().lower() == b"multipart/form-data"


class RequirePreflight:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_multipart(scope):
            headers = dict(scope["headers"])
            if not any(headers.get(name, b"").strip() for name in PREFLIGHT_HEADERS):
                await self._refuse(send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(send: Send) -> None:
        body = json.dumps({"errors": [{
            "message": f"A multipart request (file upload) must carry the header "
                       f"{PREFLIGHT_HEADER} (any non-empty value): CSRF protection.",
            "extensions": {"code": "PREFLIGHT_REQUIRED"}}]}).encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class CheckedMultipart:
    """For strawberry's HTTP view (listed before it): `operations` or `map` sent as a file or as
    JSON that is not an object, a `map` that names no file, or a path that does not fit
    `operations`, is a 400 that says so (strawberry catches only KeyError, and let IndexError,
    TypeError, AttributeError... through as a 500)."""

    async def parse_multipart(self, request: Any) -> Any:
        form = (await request.get_form_data()).form   # parsed once: strawberry reads it again
        for name in ("operations", "map"):
            if not isinstance(form.get(name, ""), str):
                raise HTTPException(400, f"`{name}` must be a form field, not a file.")
        try:
            operations = await super().parse_multipart(request)  # type: ignore[misc]
        except HTTPException:
            raise
        except (IndexError, TypeError, ValueError, AttributeError) as error:
            raise HTTPException(400, "The multipart request's `map` does not fit its `operations` "
                                     "(GraphQL multipart request spec).") from error
        if not isinstance(operations, dict):
            raise HTTPException(400, "`operations` must be a JSON object: "
                                     '{"query": "...", "variables": {...}}.')
        return operations
