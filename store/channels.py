"""The NOTIFY channels the database announces changes on (their senders are the functions of
`open`; store.notify listens). The SQL writes the same names: change them together."""

from typing import Final

OPEN_CHANGED: Final = "threatmap_open_changed"    # each new data version of `open` (digits)
OPEN_TILES: Final = "threatmap_open_tiles"        # where a change was (JSON), just before its version
REPORT_EVENTS: Final = "threatmap_report_events"  # each change of open.reports (JSON, public columns)
# each new report and each change officers act on (JSON: id, status, county, unit; no private
# field), for the staff subscription only (store/sql/49_staff_live.sql): listened to as the app role
STAFF_EVENTS: Final = "threatmap_staff_events"
