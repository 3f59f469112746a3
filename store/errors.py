"""Errors the store raises with a message that says what is wrong and what to do."""


class StoreSetupError(RuntimeError):
    """The database cannot be set up or reached; the message tells the user what to do."""
