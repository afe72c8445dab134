"""``next`` after login only ever points inside the site."""

from __future__ import annotations

import pytest

from academy.common.urls import safe_next


@pytest.mark.parametrize("target", [
    "//evil.com", "https://evil.com", "http://evil.com/courses/", "/\\evil.com", "\\\\evil.com",
    "javascript:alert(1)", "JavaScript:alert(1)", "evil.com", "///evil.com", " //evil.com",
    "/\t/evil.com", "/courses/\r\nSet-Cookie:x=1", "", None, "data:text/html,hi",
])
def test_targets_outside_the_site_are_refused(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/courses/", "/courses/?q=电工&open=y", "/enrolment/my", "/"])
def test_paths_inside_the_site_are_kept(target):
    assert safe_next(target) == target
