"""store.text: which text and numbers the doors refuse before using them. No database; the doors
themselves are tested in test_bad_input.py and test_fuzz.py."""

import pytest

from store.text import MAX_DIGITS, long_number, strings_in, unfit_character, unfit_in


@pytest.mark.parametrize(("text", "code"), [("\x00", "U+0000"), ("a\x00b", "U+0000"), ("\ud800", "U+D800"),
                                            ("x\udfff", "U+DFFF"), ("\ud83d", "U+D83D")])
def test_nul_and_lone_surrogates_are_unfit_and_named(text: str, code: str) -> None:
    reason = unfit_character(text)
    assert reason is not None and code in reason


@pytest.mark.parametrize("text", ["", "Zażółć gęślą jaźń", "🚗", "\U0010ffff", "\ufeff", "tab\tline\n",
                                  "\x01\x1f\x7f", "'; DROP TABLE x; --"])
def test_every_character_postgresql_text_holds_is_fit(text: str) -> None:
    assert unfit_character(text) is None


def test_a_number_past_max_digits_is_named_with_its_length() -> None:
    assert long_number("9" * MAX_DIGITS) is None
    assert long_number(f"x{'1' * (MAX_DIGITS + 1)}y") == (
        f"has a number of {MAX_DIGITS + 1} digits; numbers have at most {MAX_DIGITS}")
    assert long_number("1.5,2,3," + "4" * 50) is None


def test_strings_are_found_in_keys_values_and_deep_nesting() -> None:
    deep: object = "bottom"
    for _ in range(100_000):   # deeper than any recursion would go
        deep = [deep]
    assert list(strings_in(deep)) == ["bottom"]
    assert sorted(strings_in({"k": [1, None, {"k2": "v"}], "n": 2.5})) == ["k", "k2", "n", "v"]
    assert unfit_in({"ok": ["fine", {"bad\x00key": 1}]}) is not None
    assert unfit_in({"ok": ["fine", {"key": True}]}) is None
