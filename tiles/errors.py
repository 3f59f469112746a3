"""The tile door's one domain error: a request it cannot answer as asked (HTTP 400)."""


class BadTileRequest(ValueError):
    pass
