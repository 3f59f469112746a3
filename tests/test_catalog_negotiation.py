"""catalog/negotiation.py: which serialization a /catalog request gets."""

import pytest

from catalog.negotiation import HTML, JSON_LD, RDF_XML, TURTLE, NotAcceptable, choose


@pytest.mark.parametrize(("f", "accept", "expected"), [
    (None, None, TURTLE),
    (None, "", TURTLE),
    (None, "*/*", TURTLE),
    (None, "text/turtle", TURTLE),
    (None, "application/rdf+xml", RDF_XML),
    (None, "application/ld+json", JSON_LD),
    (None, "application/json", JSON_LD),
    (None, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", HTML),
    (None, "application/ld+json;q=0.4, text/turtle;q=0.9", TURTLE),
    (None, "application/rdf+xml;q=0, application/ld+json", JSON_LD),
    (None, "image/png, */*;q=0.1", TURTLE),
    (None, "application/ld+json;q=garbage, text/turtle;q=0.5", TURTLE),
    ("ttl", "text/html", TURTLE),
    ("JSONLD", None, JSON_LD),
    ("rdf", None, RDF_XML),
    ("html", "text/turtle", HTML),
])
def test_choice(f, accept, expected):
    assert choose(f, accept) is expected


@pytest.mark.parametrize(("f", "accept"), [("pdf", None), ("", None), ("\x00", None),
                                           (None, "image/png"), (None, "text/turtle;q=0")])
def test_refused(f, accept):
    with pytest.raises(NotAcceptable):
        choose(f, accept)
