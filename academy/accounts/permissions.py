"""Who may do what: every view declares its access with one of these decorators.

* ``public`` – anyone, signed in or not.
* ``login_required`` – any signed-in person.
* ``roles_required(Role.ADMIN, …)`` – signed in and holding at least one of the roles;
  others get 403, anonymous visitors are sent to the login page.

Each decorator records the rule on the view function as ``view.access`` so that
``tests/test_permissions.py`` can walk ``app.url_map`` and check that no route escapes.
Ownership checks ("instructor of this cohort", "this learner's own record") are the helpers
below, called by views after loading the object.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user
from flask_login import login_required as _flask_login_required

from academy.accounts.models import Role

PUBLIC = "public"
LOGGED_IN = "login"


def public(view: Callable) -> Callable:
    """Mark ``view`` as open to everyone."""
    view.access = PUBLIC  # type: ignore[attr-defined]
    return view


def login_required(view: Callable) -> Callable:
    """Require a signed-in person (anonymous visitors go to the login page with ``next``)."""
    wrapped = _flask_login_required(view)
    wrapped.access = LOGGED_IN  # type: ignore[attr-defined]
    return wrapped


def roles_required(*roles: Role) -> Callable[[Callable], Callable]:
    """Require a signed-in person holding any of ``roles``; others get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped = _flask_login_required(wrapper)
        wrapped.access = tuple(str(r) for r in roles)  # type: ignore[attr-defined]
        return wrapped

    return decorator


admin_required = roles_required(Role.ADMIN)
staff_required = roles_required(Role.ADMIN, Role.INSTRUCTOR)


def is_cohort_instructor(user, cohort) -> bool:
    """True when ``user`` teaches ``cohort``."""
    return any(i.id == user.id for i in cohort.instructors)


def can_manage_cohort(user, cohort) -> bool:
    """Admins manage every cohort; instructors only the cohorts they teach."""
    return user.is_authenticated and (user.is_admin or is_cohort_instructor(user, cohort))


def require_cohort_staff(user, cohort) -> None:
    """Abort with 403 unless ``user`` may manage ``cohort`` (its instructor or an admin)."""
    if not can_manage_cohort(user, cohort):
        abort(403)


def require_owner(user, owner_id: int) -> None:
    """Abort with 404 unless the record belongs to ``user``: another learner's id is 'not found'."""
    if not user.is_authenticated or user.id != owner_id:
        abort(404)
