"""bench.common's timing helpers, which every benchmark suite's p50/p95/p99 go through."""

import math

from bench.common import percentile, repeated_ms, timed_ms


def test_percentile_is_the_value_at_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]   # 1..100
    assert percentile(values, 0) == 1 and percentile(values, 100) == 100
    assert percentile(values, 50) == 51            # rank round(0.5 * 99) = 50 (0-based)
    assert percentile(values, 95) == 95 and percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7
    assert math.isnan(percentile([], 50))


def test_repeated_ms_times_each_call_after_a_warm_one() -> None:
    calls: list[int] = []
    times, last = repeated_ms(lambda: calls.append(1) or len(calls), 4)
    assert len(times) == 4 and all(t >= 0 for t in times)
    assert calls == [1] * 5 and last == 5           # the warm call is not timed
    ms, value = timed_ms(lambda: "done")
    assert value == "done" and ms >= 0
