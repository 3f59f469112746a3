"""Which serialization a /catalog request gets: `?f=` first, then the Accept header."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    key: str              # ?f= value
    media_type: str
    rdflib: str | None    # rdflib's serializer name; None: the HTML page


TURTLE = Format("ttl", "text/turtle", "turtle")
RDF_XML = Format("rdf", "application/rdf+xml", "xml")
JSON_LD = Format("jsonld", "application/ld+json", "json-ld")
HTML = Format("html", "text/html", None)
FORMATS = (TURTLE, RDF_XML, JSON_LD, HTML)
ALIASES = {"ttl": TURTLE, "turtle": TURTLE, "rdf": RDF_XML, "xml": RDF_XML, "rdfxml": RDF_XML,
           "jsonld": JSON_LD, "json-ld": JSON_LD, "json": JSON_LD, "html": HTML}
BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS} | {
    "application/x-turtle": TURTLE, "application/xml": RDF_XML, "text/xml": RDF_XML,
    "application/json": JSON_LD, "application/xhtml+xml": HTML}
DEFAULT = TURTLE


class NotAcceptable(ValueError):
    """Neither ?f= nor Accept names a serialization we have."""


def _accepted(header: str) -> list[tuple[float, int, str]]:
    ranges = []
    for position, part in enumerate(header.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if media:
            ranges.append((weight, position, media.lower()))
    return ranges


def choose(f: str | None, accept: str | None) -> Format:
    """The serialization: `?f=` (400 if unknown: raised as NotAcceptable with the list), else
    the best Accept match (ties: the order the client wrote), `*/*` or no header: Turtle."""
    if f is not None:
        if (chosen := ALIASES.get(f.strip().lower())) is None:
            raise NotAcceptable(f"unknown f={f!r}: use one of ttl, rdf, jsonld, html")
        return chosen
    if not accept or not accept.strip():
        return DEFAULT
    ranges = sorted(_accepted(accept), key=lambda r: (-r[0], r[1]))
    for weight, _, media in ranges:
        if weight <= 0:
            continue
        if media in BY_MEDIA_TYPE:
            return BY_MEDIA_TYPE[media]
        if media in ("*/*", "text/*", "application/*"):
            return DEFAULT
    raise NotAcceptable("none of the accepted media types is served: text/turtle, "
                        "application/rdf+xml, application/ld+json, text/html")
