"""api.lru.SizedLRU: the memory bound of the response cache and of the rendered list items."""

from __future__ import annotations

from api.lru import SizedLRU


def test_the_least_recently_used_go_first_and_the_bound_holds():
    kept: SizedLRU[str, bytes] = SizedLRU(10, lambda _key, value: len(value))
    for key in "abc":
        kept.put(key, b"xxx")  # 9 of 10
    assert kept.get("a") == b"xxx"  # "a" is now the most recently used
    kept.put("d", b"xxx")  # 12 > 10: "b", the least recently used, goes
    assert kept.get("b") is None
    assert [kept.get(key) for key in "acd"] == [b"xxx"] * 3
    assert kept.get_many(["a", "b", "d"]) == {"a": b"xxx", "d": b"xxx"}
    kept.put("a", b"y")  # replacing counts the new cost only: 7
    kept.put("e", b"yyy")  # 10: nothing goes
    assert len(kept) == 4


def test_a_value_over_the_bound_is_not_kept_and_drops_nothing():
    kept: SizedLRU[str, bytes] = SizedLRU(10, lambda _key, value: len(value))
    kept.put("a", b"xxxx")
    kept.put("big", b"x" * 11)
    assert kept.get("big") is None and kept.get("a") == b"xxxx"
    kept.clear()
    assert len(kept) == 0 and kept.get("a") is None
