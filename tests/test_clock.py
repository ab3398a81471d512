"""The time vocabulary: seconds and nanoseconds convert both ways, rounding to the nearest nanosecond."""

from __future__ import annotations

import numpy as np

from composer_app.clock import ns_to_ms, ns_to_s, ns_to_us, s_to_ns


def test_seconds_become_whole_nanoseconds_rounded_to_the_nearest():
    assert s_to_ns(1.5) == 1_500_000_000 and isinstance(s_to_ns(1.5), int)
    assert s_to_ns(1.001) == 1_001_000_000  # 1.001 * 1e9 is 1000999999.9999999 in floats: rounded, not cut
    assert s_to_ns(1e-9 * 0.4) == 0 and s_to_ns(1e-9 * 0.6) == 1


def test_nanoseconds_become_seconds_milliseconds_and_microseconds():
    assert ns_to_s(2_500_000_000) == 2.5 and ns_to_ms(2_500_000) == 2.5 and ns_to_us(2_500) == 2.5
    assert ns_to_s(s_to_ns(1234.567891234)) == 1234.567891234  # the nearest nanosecond, back to the same float
    np.testing.assert_allclose(ns_to_ms(np.array([1_000_000, 3_000_000], dtype=np.int64)), [1.0, 3.0])
