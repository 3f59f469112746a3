"""The developers' door: GraphQL at /graphql (HTTP GET/POST, GraphiQL, graphql-transport-ws)."""

from pathlib import Path
from typing import Any

from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from gateway.graphql.auth import client_address, proxy_networks
from gateway.graphql.body_limit import BodySizeLimit
from gateway.graphql.context import Context, Loaders, authenticate
from gateway.graphql.errors import with_code
from gateway.graphql.request_body import CheckedJsonBody
from gateway.graphql.schema import build_schema
from gateway.settings import Settings

# Our GraphiQL page: its scripts and styles come from /static (vendored from npm), not from
# strawberry's page, which loads them from unpkg.com (blank offline, refused by our CSP).
GRAPHIQL_PAGE = Path(__file__).with_name("graphiql.html")


class ThreatmapGraphQL(CheckedJsonBody, GraphQL):
    def __init__(self, settings: Settings) -> None:
        super().__init__(build_schema(settings), graphql_ide="graphiql",
                         subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         max_subscriptions_per_connection=10)
        self.settings = settings
        # Built here, not on first use: a storage the machine cannot make stops the start.
        self.limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self.trusted_proxies = proxy_networks(settings.trusted_proxies)
        self.graphiql_page = GRAPHIQL_PAGE.read_text(encoding="utf-8")

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self.graphiql_page)

    async def get_context(self, request: HTTPConnection, response: Any) -> Context:
        runtime = request.app.state.runtime
        viewer, auth_error = authenticate(self.settings.jwt_secret, request.headers.get("authorization"))
        client = client_address(request.client.host if request.client else None,
                                request.headers.get("x-forwarded-for"), self.trusted_proxies)
        return Context(request=request, response=response, runtime=runtime, viewer=viewer,
                       auth_error=auth_error, client=client, limiter=self.limiter,
                       loaders=Loaders.create(runtime))

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors:
            result.errors = [with_code(error) for error in result.errors]
        return await super().process_result(request, result)


def graphql_app(settings: Settings) -> ASGIApp:
    return BodySizeLimit(ThreatmapGraphQL(settings), settings.graphql_max_body_bytes)
