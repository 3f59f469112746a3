"""Log lines: JSON (one object a line) or text, each with the id of the request it was written
for (gateway.request_id), and third-party per-request lines put at the level they deserve.

Levels, the rule of the whole service: a request the client got wrong (4xx, a bad GraphQL
document, bad CQL) is INFO without a traceback, in its access line (gateway.observe) and at
most one line saying why; a server error is ERROR with its traceback, written once where it was
caught. Two libraries log otherwise, so their lines are re-levelled here, in the handler:
- strawberry logs every GraphQL error at ERROR with the traceback of its original exception,
  the client's mistakes included: those (and errors we raised with a code) become INFO without
  a traceback, a database outage WARNING; an unexpected one stays ERROR (it is masked for the
  client by gateway.graphql.errors, which logs it too).
- pygeoapi logs every exception it answers (bad CQL, an unknown collection) at ERROR with a
  traceback, and a WARNING on every items request without `offset`: its lines written while a
  request is served are dropped, and the OGC door logs each exception answer itself
  (ogc.service: INFO with the reason for 4xx, ERROR with the traceback for 5xx); its lines
  outside requests (start-up: the configuration) are kept from WARNING up.
"""

import logging
import sys
from typing import TextIO

from graphql import GraphQLError
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from gateway.graphql.errors import _is_expected
from gateway.request_id import current
from store.errors import is_unavailable

# The time is left to journald (or whatever collects the lines); a request's id ends its lines.
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s%(request_tag)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s"   # and "time", ISO 8601 UTC
JSON_NAMES = {"levelname": "level", "name": "logger", "exc_info": "traceback"}
# Libraries whose every request would write lines below WARNING (pygeoapi: several per request).
QUIET_LOGGERS = ("pygeoapi",)


class RequestIdFilter(logging.Filter):
    """Stamps each line with the id of the request being served (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current.get()
        record.request_tag = f" [{record.request_id}]" if record.request_id else ""
        return True


class LibraryLevels(logging.Filter):
    """Re-levels strawberry's and pygeoapi's per-request lines (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "strawberry.execution" and isinstance(record.msg, GraphQLError):
            error = record.msg
            if _is_expected(error):
                _relevel(record, logging.INFO)
            elif is_unavailable(error.original_error):
                _relevel(record, logging.WARNING)
            return True
        # pygeoapi while serving a request: its lines are dropped (see the module's docstring)
        return not (record.name.startswith("pygeoapi") and current.get() is not None)


def _relevel(record: logging.LogRecord, level: int) -> None:
    record.levelno, record.levelname = level, logging.getLevelName(level)
    record.exc_info, record.exc_text = None, None


def formatter(log_format: str, stream: TextIO) -> logging.Formatter:
    """The formatter of `log_format` (json, text or auto: text on a terminal)."""
    if log_format == "auto":
        log_format = "text" if stream.isatty() else "json"
    if log_format == "json":
        return JsonFormatter(JSON_FIELDS, rename_fields=JSON_NAMES, timestamp="time",
                             reserved_attrs=[*RESERVED_ATTRS, "request_tag"])
    return logging.Formatter(TEXT_FORMAT)


def log_handler(log_format: str, stream: TextIO) -> logging.Handler:
    """A handler writing the service's lines to `stream` (request ids, libraries re-levelled)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format, stream))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(LibraryLevels())
    return handler


def configure_logging(log_format: str = "auto", level: str = "INFO",
                      stream: TextIO | None = None) -> logging.Handler:
    """The process's logging: one handler on the root logger, every library's lines through it
    (uvicorn's too: `threatmap serve` gives it no configuration of its own). Returns the handler."""
    handler = log_handler(log_format, stream or sys.stderr)
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    numeric = logging.getLevelName(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):   # propagate to the root handler
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return handler
