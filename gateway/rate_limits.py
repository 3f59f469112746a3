"""The one limits storage every rate limit of the app uses (GraphQL submissions and tracking,
photos, partners' keys and bulk batches): in memory for one process, in Redis across replicas."""

from typing import Any

from limits.storage import storage_from_string


def rate_limit_storage(uri: str) -> Any:
    """The limits storage the URI names; Redis through redis-py (the `redis` package, which the
    persisted queries use too), not limits' default coredis (not installed)."""
    options = {"implementation": "redispy"} if uri.startswith("async+redis") else {}
    return storage_from_string(uri, **options)
