"""uvicorn's HTTP protocol with a time limit on a request's head (slowloris).

uvicorn times out an idle keep-alive connection, but not one that is opened and never sends a
request, nor one that sends its request line and headers a byte at a time: each byte restarts
nothing and nothing ends the wait, so such connections stay open for good. This subclass of
uvicorn's httptools protocol (the one `uvicorn[standard]` runs) closes a connection whose request
head has not fully arrived `head_timeout_s` after the connection opened or the request began.
The body has its own limit (gateway.body_timeout).
"""

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)


class HeadTimeoutProtocol(HttpToolsProtocol):
    """Closes a connection whose request head is not complete `head_timeout_s` after it opened
    or its request began. A module-level class, so that uvicorn's worker processes can import it
    by name (`threatmap serve --workers N`); each worker sets the time from its settings."""

    head_timeout_s: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
            log.warning("no complete request head from %s within %.0f s: connection closed",
                        client, self.head_timeout_s)
            self.transport.close()


# uvicorn's `http=` for worker processes: they import the class by this name
IMPORT_NAME = f"{__name__}:HeadTimeoutProtocol"


def with_head_timeout(head_timeout_s: float) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (`http=`) in this process."""
    return type("HeadTimeoutProtocol", (HeadTimeoutProtocol,), {"head_timeout_s": head_timeout_s})
