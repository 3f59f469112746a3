"""The developers' door: GraphQL at /graphql (HTTP GET/POST, GraphiQL, graphql-transport-ws),
its schema as SDL at /graphql/schema.graphql."""

import dataclasses
from pathlib import Path
from typing import Any

from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import ASGIApp
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from gateway.graphql import raw_json
from gateway.graphql.auth import client_address, proxy_networks
from gateway.graphql.body_limit import BodySizeLimit
from gateway.graphql.context import Context, Loaders, authenticate
from gateway.graphql.errors import BadInput, with_code
from gateway.graphql.known_page import AnonymousPageShortcut
from gateway.graphql.media import (
    GRAPHQL_RESPONSE,
    JSON,
    is_request_error,
    request_error_status,
    wants_graphql_response,
)
from gateway.graphql.multipart import CheckedMultipart, RequirePreflight
from gateway.graphql.persisted import (
    PersistedQueryNotFound,
    PersistedQueryNotSupported,
    persisted_hash,
    persisted_queries,
    sha256,
)
from gateway.graphql.request_body import CheckedJsonBody
from gateway.graphql.schema import build_schema, schema_sdl
from gateway.oidc import OidcVerifier
from gateway.rate_limits import rate_limit_storage
from gateway.settings import Settings

# Our GraphiQL page: its scripts and styles come from /static (vendored from npm), not from
# strawberry's page, which loads them from unpkg.com (blank offline, refused by our CSP).
GRAPHIQL_PAGE = Path(__file__).with_name("graphiql.html")
# Where process_result leaves the status of a request error for `run` (GraphQL over HTTP).
REQUEST_ERROR_KEY = "threatmap.graphql_request_error"


class ThreatmapGraphQL(CheckedJsonBody, CheckedMultipart, GraphQL):
    def __init__(self, settings: Settings) -> None:
        super().__init__(build_schema(settings), graphql_ide="graphiql",
                         subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         max_subscriptions_per_connection=10,
                         # photos with submitReport (docs/photos.md): CSRF guard RequirePreflight
                         multipart_uploads_enabled=True)
        self.settings = settings
        # Built here, not on first use: a storage the machine cannot make stops the start.
        self.limiter = MovingWindowRateLimiter(rate_limit_storage(settings.rate_limit_storage))
        self.trusted_proxies = proxy_networks(settings.trusted_proxies)
        self.oidc = (OidcVerifier(settings.oidc_discovery_url, settings.oidc_client_id,
                                  settings.oidc_role_claim, settings.oidc_unit_claim)
                     if settings.oidc_discovery_url and settings.oidc_client_id else None)
        self.graphiql_page = GRAPHIQL_PAGE.read_text(encoding="utf-8")
        self.persisted = persisted_queries(settings.graphql_persisted_queries,
                                           settings.persisted_queries_url,
                                           settings.graphql_persisted_queries_ttl_s)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self.graphiql_page)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET by hash (APQ) has no query either: it is a request, not a visit to GraphiQL.
        return ("extensions" not in request.query_params
                and super().should_render_graphql_ide(request))

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        response = await super().run(request, context=context, root_value=root_value)
        # GraphQL over HTTP: the media type the client asked for, and with it the status of a
        # request error (gateway.graphql.media). Text refusals (HTTPException) and GraphiQL's
        # page are left as they are.
        if (isinstance(request, Request) and isinstance(response, Response)
                and response.headers.get("content-type") == JSON
                and wants_graphql_response(request.headers.get("accept"))):
            response.headers["content-type"] = GRAPHQL_RESPONSE
            status = request.scope.get(REQUEST_ERROR_KEY)
            if status is not None:
                response.status_code = status
        return response

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any,
                             context: Any, root_value: Any, request_data: GraphQLRequestData
                             ) -> ExecutionResult:
        """Automatic persisted queries (gateway.graphql.persisted); the query, given or found,
        runs through the same extensions and limits as any other."""
        def run(data: GraphQLRequestData) -> Any:
            return super(ThreatmapGraphQL, self).execute_single(
                request=request, request_adapter=request_adapter, sub_response=sub_response,
                context=context, root_value=root_value, request_data=data)

        try:
            digest = persisted_hash(request_data.extensions)
        except BadInput as error:
            return ExecutionResult(data=None, errors=[error])
        if digest is None:
            return await run(request_data)
        if not self.persisted.size:
            return ExecutionResult(data=None, errors=[PersistedQueryNotSupported()])
        query = request_data.query
        if query is None:
            known = await self.persisted.get(digest)
            if known is None:
                return ExecutionResult(data=None, errors=[PersistedQueryNotFound()])
            return await run(dataclasses.replace(request_data, query=known))
        if sha256(query) != digest:
            return ExecutionResult(data=None, errors=[BadInput(
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query "
                "(of its UTF-8 text, as sent).")])
        result = await run(request_data)
        if not is_request_error(result.data, result.errors):   # parsed and validated
            await self.persisted.put(digest, query)
        return result

    async def get_context(self, request: HTTPConnection, response: Any) -> Context:
        runtime = request.app.state.runtime
        viewer, auth_error = await authenticate(self.settings.jwt_secret,
                                                request.headers.get("authorization"), self.oidc)
        client = client_address(request.client.host if request.client else None,
                                request.headers.get("x-forwarded-for"), self.trusted_proxies)
        return Context(request=request, response=response, runtime=runtime, viewer=viewer,
                       auth_error=auth_error, client=client, limiter=self.limiter,
                       loaders=Loaders.create(runtime), oidc=self.oidc, raw_json=True)

    def encode_json(self, data: object) -> str:
        """strawberry's encoder (json.dumps, compact), with the JSON text a field's value may
        already be in written as it is (gateway.graphql.raw_json): HTTP and WebSocket answers."""
        return raw_json.dumps(data)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors:
            result.errors = [with_code(error) for error in result.errors]
        answer = await super().process_result(request, result)
        if is_request_error(result.data, result.errors):
            # Nothing was executed: no `data` at all (GraphQL spec, GraphQL over HTTP).
            answer.pop("data", None)
            # (in the request's scope: `request.state` may be shared with the lifespan's state)
            request.scope[REQUEST_ERROR_KEY] = request_error_status(result.errors or [])
        return answer


def graphql_app(settings: Settings) -> ASGIApp:
    view = ThreatmapGraphQL(settings)
    # The known anonymous page of reports is answered in front of the view (its own module)
    shortcut = AnonymousPageShortcut(view, view.schema._schema, view.schema.document_checker,
                                     settings.graphql_max_list_items)
    return RequirePreflight(BodySizeLimit(shortcut, settings.graphql_max_body_bytes,
                                          settings.photo_upload_max_bytes))


def schema_endpoint(settings: Settings) -> Any:
    """GET /graphql/schema.graphql: the schema as SDL, public as introspection is; when
    introspection is turned off (THREATMAP_GRAPHQL_INTROSPECTION=false), 404 like it."""
    async def endpoint(request: Request) -> Response:
        if not settings.graphql_introspection:
            return PlainTextResponse("Not Found: introspection is turned off on this server.",
                                     status_code=404)
        return PlainTextResponse(schema_sdl())
    return endpoint
