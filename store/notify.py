"""One LISTEN connection per process, fanned out to any number of subscribers.

PostgreSQL sends a channel's notices to every connection that LISTENs on it; a gateway process
needs only one such connection whatever the number of its subscribers (each WebSocket
subscription used to hold a connection of its own). The listener runs as one task, started and
stopped by the application's lifespan, and reconnects (with backoff) when the connection is
lost, e.g. across a database restart. Notices sent while it was away are lost to it, so each
subscriber then receives `GAP`: "reload what you show"; a subscriber that falls too far behind
gets the same instead of the notices it could not hold.

A user that must act on every notice before anything else happens (the tile cache evicts what a
change touches) passes `on_notice` instead, called in the listener's own task, in order; and
`on_connect`, run on each new connection after LISTEN and before `listening` is set (after
LISTEN, so no notice can fall between what it reads and the first notice it gets). While
`listening` is clear, notices may be going by unheard.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Final

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


GAP: Final = _Marker("GAP")          # notices may have been missed: reload
CLOSED: Final = _Marker("CLOSED")    # the listener stopped: no more notices will come

Message = str | _Marker
OnConnect = Callable[[psycopg.AsyncConnection], Awaitable[None]]
OnNotice = Callable[[str, str], None]   # channel, payload


class ChannelListener:
    def __init__(self, url: str, channels: str | Sequence[str], *,
                 application_name: str = "threatmap-listener", queue_size: int = 1000,
                 idle_check_s: float = 30.0, retry_s: tuple[float, float] = (0.2, 5.0),
                 on_connect: OnConnect | None = None, on_notice: OnNotice | None = None) -> None:
        self.url = url
        self.channels = (channels,) if isinstance(channels, str) else tuple(channels)
        self.on_connect = on_connect
        self.on_notice = on_notice
        self.application_name = application_name
        self.queue_size = queue_size
        self.idle_check_s = idle_check_s
        self.retry_s = retry_s
        self.listening = asyncio.Event()
        self.connections = 0              # how many times it has (re)connected: for tests, health
        self._subscribers: set[asyncio.Queue[Message]] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def start(self, timeout: float = 10.0) -> None:
        """Starts listening; waits (up to `timeout`) for the first LISTEN, then goes on trying
        in the background, so that a database that is briefly away does not stop the app."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"listen {self._names}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.listening.wait(), timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.listening.clear()
        self._broadcast(CLOSED)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Message]]:
        """A queue that receives each notice's payload (and GAP or CLOSED) until the block ends."""
        queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=self.queue_size)
        if self._task is None:
            queue.put_nowait(CLOSED)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    @property
    def _names(self) -> str:
        return ", ".join(self.channels)

    def _broadcast(self, message: Message) -> None:
        for queue in self._subscribers:
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                # Too slow to keep up: what it missed cannot be told, so it is told to reload.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(GAP)

    async def _run(self) -> None:
        delay = self.retry_s[0]
        while True:
            connected_before = self.connections
            try:
                await self._listen()
            except (psycopg.Error, OSError) as error:
                if self.connections > connected_before:   # it was up: back off from the start
                    delay = self.retry_s[0]
                log.warning("listener on %s lost its connection (%s); retrying in %.1f s",
                            self._names, str(error).strip() or type(error).__name__, delay)
            except Exception:
                # A failing on_connect / on_notice: the listener goes on (a dead task with
                # `listening` still set would be trusted forever), after a pause.
                log.exception("listener on %s failed; restarting in %.1f s", self._names, delay)
            finally:
                self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_s[1])

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=5,
                application_name=self.application_name) as conn:
            for channel in self.channels:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            if self.on_connect is not None:
                await self.on_connect(conn)
            if self.connections:
                self._broadcast(GAP)
            self.connections += 1
            self.listening.set()
            log.info("listening on %s", self._names)
            while True:
                async for notice in conn.notifies(timeout=self.idle_check_s):
                    if self.on_notice is not None:
                        self.on_notice(notice.channel, notice.payload)
                    self._broadcast(notice.payload)
                # Quiet for a while: make sure the connection is still there (a half-open TCP
                # connection would otherwise wait forever).
                await conn.execute("SELECT 1")
