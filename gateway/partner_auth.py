"""Which partner a request comes from (issue 15, point 5), for every partner door (Open311, the
bulk ingest): the API key is read from `api_key` (query string or form field, as Open311 sends
it), `Authorization: Bearer <key>` or `X-Api-Key`, checked against its stored hash
(store.partners), and counted against the per-key rate limit (THREATMAP_PARTNER_RATE_LIMIT).

`create_app` puts a `PartnerAuth` in `app.state.partner_auth`; a door calls
`await partner_from_request(request)`: the Partner, None when no key was sent, or one of the
exceptions below (each door answers them in its own error format).
"""

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from gateway.rate_limits import rate_limit_storage
from store import partners
from store.partners import Partner

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class PartnerKeyRejected(Exception):
    """A key was sent that is not a valid one (unknown, revoked, its partner suspended)."""


class PartnerRateLimited(Exception):
    """The key made more requests than the partner rate limit allows; `limit` says which."""

    def __init__(self, limit: str) -> None:
        super().__init__(f"Too many requests with this API key (limit {limit}); try again later.")
        self.limit = limit


class PartnerAuth:
    """The per-key limiter (one per application, on the shared limits storage)."""

    def __init__(self, rate_limit: str, storage_uri: str) -> None:
        self.limit = parse(rate_limit)
        self.limiter = MovingWindowRateLimiter(rate_limit_storage(storage_uri))

    async def hit(self, partner: Partner) -> None:
        if not await self.limiter.hit(self.limit, "partner-key", str(partner.key_id)):
            raise PartnerRateLimited(str(self.limit))


async def sent_key(request: Request) -> str | None:
    """The API key the request carries, wherever it was put; None when there is none."""
    if key := request.headers.get("x-api-key"):
        return key.strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if key := request.query_params.get("api_key"):
        return key
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and content_type in FORM_TYPES:
        form = await request.form()   # kept on the request: the handler reads it again for free
        value = form.get("api_key")
        if isinstance(value, str) and value:
            return value
    return None


async def partner_from_request(request: Request) -> Partner | None:
    """The partner whose key the request carries (counted against its rate limit), or None when
    it carries none; PartnerKeyRejected / PartnerRateLimited otherwise."""
    key = await sent_key(request)
    if key is None:
        return None
    auth: PartnerAuth = request.app.state.partner_auth
    async with request.app.state.runtime.app_pool.connection() as conn:
        partner = await partners.partner_for_key(conn, key)
    if partner is None:
        raise PartnerKeyRejected("The API key is not valid (unknown or revoked).")
    await auth.hit(partner)
    return partner
