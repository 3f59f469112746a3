"""The persisted-query stores (gateway.graphql.persisted): this process's LRU, and Redis when
THREATMAP_PERSISTED_QUERIES_URL is set; a Redis that does not answer is a miss, never an error.
(Across two processes with a real Redis: tests/test_scale.py.)"""

from gateway.graphql.persisted import PersistedQueries, RedisPersistedQueries, persisted_queries
from tests.support import free_port


async def test_the_memory_store_drops_the_least_recently_used() -> None:
    store = PersistedQueries(2)
    await store.put("a", "{ a }")
    await store.put("b", "{ b }")
    assert await store.get("a") == "{ a }"   # now the most recent
    await store.put("c", "{ c }")
    assert (await store.get("b"), await store.get("a"), await store.get("c")) == (None, "{ a }", "{ c }")


def test_the_setting_chooses_the_store() -> None:
    assert isinstance(persisted_queries(10, None, 60), PersistedQueries)
    assert isinstance(persisted_queries(10, "redis://127.0.0.1:6379/1", 60), RedisPersistedQueries)


async def test_a_redis_that_does_not_answer_is_a_miss() -> None:
    store = RedisPersistedQueries(f"redis://127.0.0.1:{free_port()}/1", 10, 60)   # nothing listens
    await store.put("a" * 64, "{ a }")
    assert await store.get("a" * 64) is None
    await store.close()
