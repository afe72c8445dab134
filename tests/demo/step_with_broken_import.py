"""A demo step whose own import fails: the loader must raise, not skip it (tests/demo/test_demo.py)."""

import academy.no_such_module_for_the_demo_test  # noqa: F401


def load(ctx) -> None:  # pragma: no cover - never reached
    raise AssertionError("unreachable")
