"""What the application holds while it runs, shared by the doors through app.state."""

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from gateway.photos import PhotoDesk
from gateway.settings import Settings
from store.locations import DatabaseUrls, ManagedDatabase
from store.notify import ChannelListener


@dataclass
class Runtime:
    settings: Settings
    urls: DatabaseUrls
    app_pool: AsyncConnectionPool
    public_pool: AsyncConnectionPool
    managed: ManagedDatabase | None = None
    report_events: ChannelListener | None = None  # open.reports changes (store/sql/45_report_events.sql)
    staff_events: ChannelListener | None = None   # core.reports changes for staff (49_staff_live.sql)
    report_sources: tuple[str, ...] | None = None  # read from the database on first use
    photos: PhotoDesk | None = None  # photo storage and limits (gateway/photos.py)
