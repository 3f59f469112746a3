"""GraphQL over HTTP (the GraphQL-over-HTTP spec): which media type a client gets, and the
status of a request error with `application/graphql-response+json`.

With `application/json` (the default, and what `*/*` gets) every GraphQL answer is a 200, as
the spec has it for that type. A client whose Accept prefers `application/graphql-response+json`
gets that type, and a request error (the document could not be parsed or validated, the
variables did not fit, the token was refused: nothing was executed) is a 4xx; an executed
request is a 200 with its `data`, errors or not. Either way a request error has no `data`.
"""

from graphql import GraphQLError

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"

# The status of a request error with GRAPHQL_RESPONSE, by its code; any other: 400.
REQUEST_ERROR_STATUS = {"UNAUTHENTICATED": 401, "RATE_LIMITED": 429,
                        "PERSISTED_QUERY_NOT_FOUND": 404}


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def wants_graphql_response(accept: str | None) -> bool:
    """True when `accept` names GRAPHQL_RESPONSE at least as highly as application/json
    (wildcards count for application/json: clients that name no type keep what they had)."""
    best: dict[str, float] = {}
    for item in (accept or "").split(","):
        media, *params = item.split(";")
        media = media.strip().lower()
        if media:
            best[media] = max(best.get(media, 0.0), _quality(params))
    ours = best.get(GRAPHQL_RESPONSE, 0.0)
    return ours > 0 and ours >= best.get(JSON, 0.0)


def is_request_error(data: object, errors: list[GraphQLError] | None) -> bool:
    """Nothing was executed: no data and only errors without a path (a field error has one)."""
    return data is None and bool(errors) and all(error.path is None for error in errors or ())


def request_error_status(errors: list[GraphQLError]) -> int:
    code = (errors[0].extensions or {}).get("code")
    return REQUEST_ERROR_STATUS.get(code, 400) if isinstance(code, str) else 400
