"""Run the demo steps of every module, in order, in one transaction.

A step is a module with ``def load(ctx: DemoContext) -> None``. The steps are listed in
``DEMO_STEPS``; a step whose module does not exist (a feature not written yet) is skipped.
Each step may also declare ``ACCOUNTS``, a tuple of ``DemoAccount`` that
``flask --app academy demo --accounts`` prints.

Everything is deterministic for a given seed and day: people are drawn from
``random.Random(seed)``; dates are relative to ``ctx.now``.
"""

from __future__ import annotations

import importlib
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from types import ModuleType
from typing import Any

from flask import current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from academy.accounts.models import User
from academy.audit.services import record
from academy.catalogue.models import Cohort, Course
from academy.common.timeutil import local_today, now_utc
from academy.extensions import db

DEMO_STEPS = (
    "academy.demo.base",
    "academy.attendance.demo",
    "academy.exams.demo",
    "academy.certificates.demo",
    "academy.degrees.demo",
    "academy.competitions.demo",
)
DEFAULT_SEED = 2026
DEMO_PASSWORD = "Demo2026a"  # noqa: S105 - the published password of the demo accounts
# Stages of the demo cohorts (keys of ``DemoContext.cohorts``):
#   finished – 已结业; running – 开课中; open – 招生中 with seats left; full – 招生中, full, with a
#   waitlist; approval – 招生中, approval required, with pending applications; planned – 筹备中.
STAGES = ("finished", "running", "open", "full", "approval", "planned")


@dataclass(frozen=True)
class DemoAccount:
    """A demo account to print: login mobile, password, role label (Chinese), name, what to try."""

    mobile: str
    password: str
    role: str
    name: str
    what_to_try: str


@dataclass
class DemoContext:
    """What the demo steps share.

    ``rng`` is the only source of randomness a step may use (so the demo is reproducible);
    ``now`` is an aware UTC datetime (the load time); ``password_hash`` is the hash of
    ``DEMO_PASSWORD``, computed once, for every account a step creates. The lists are filled
    by ``academy.demo.base``: ``cohorts`` maps each name in ``STAGES`` to its cohorts in start
    order; ``courses`` maps course code to course. ``extra`` is free for steps to hand objects
    to later steps (use the module name as a key prefix).
    """

    rng: random.Random
    now: datetime
    password_hash: str
    admin: User | None = None
    admins: list[User] = field(default_factory=list)
    instructors: list[User] = field(default_factory=list)
    judges: list[User] = field(default_factory=list)
    learners: list[User] = field(default_factory=list)
    demo_learner: User | None = None
    courses: dict[str, Course] = field(default_factory=dict)
    cohorts: dict[str, list[Cohort]] = field(default_factory=lambda: {stage: [] for stage in STAGES})
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def today(self) -> date:
        """The load day in the academy's zone (Asia/Shanghai)."""
        return local_today(self.now)

    def cohorts_in(self, *stages: str) -> list[Cohort]:
        """Cohorts of the given stages (all stages when none given), in stage order."""
        for stage in stages:
            if stage not in STAGES:
                raise ValueError(f"unknown demo stage {stage!r}; one of {STAGES}")
        return [c for stage in (stages or STAGES) for c in self.cohorts[stage]]


def import_step(name: str) -> ModuleType | None:
    """Import the step module ``name``; None when it (or its package) does not exist.

    An import error inside an existing module is raised, not hidden.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def available_steps(steps: tuple[str, ...] = DEMO_STEPS) -> list[tuple[str, ModuleType]]:
    """The ``(name, module)`` pairs of the steps that exist, in order."""
    found = []
    for name in steps:
        module = import_step(name)
        if module is not None:
            found.append((name, module))
    return found


def demo_accounts(steps: tuple[str, ...] = DEMO_STEPS) -> list[DemoAccount]:
    """Every demo account declared by the existing steps (their ``ACCOUNTS``), in step order."""
    return [account for _, module in available_steps(steps) for account in getattr(module, "ACCOUNTS", ())]


def database_is_empty() -> bool:
    """True when there is no user account yet (what ``demo --if-empty`` checks)."""
    return db.session.scalar(select(User.id).limit(1)) is None


def load_demo(*, seed: int = DEFAULT_SEED, now: datetime | None = None,
              steps: tuple[str, ...] = DEMO_STEPS) -> DemoContext:
    """Load the demo into the current database and commit once at the end.

    ``now`` (aware, UTC; default the current time) anchors every date. The caller makes sure
    the database is empty (``database_is_empty``); unique mobiles and codes clash otherwise.
    On any error the transaction is rolled back and the error is raised with a note naming
    the step. Returns the context, with what the steps created; ``ctx.extra["steps"]`` lists
    the steps that ran and ``ctx.extra["step_seconds"]`` how long each took.
    """
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    ctx = DemoContext(rng=random.Random(seed), now=now or now_utc(),
                      password_hash=generate_password_hash(DEMO_PASSWORD, method=method))
    ran: dict[str, float] = {}
    try:
        for name, module in available_steps(steps):
            started = time.perf_counter()
            try:
                module.load(ctx)
                db.session.flush()
            except Exception as exc:
                exc.add_note(f"in demo step {name}")
                raise
            ran[name] = time.perf_counter() - started
        record("demo.loaded", actor=ctx.admin, seed=seed, steps=list(ran))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    ctx.extra["steps"] = list(ran)
    ctx.extra["step_seconds"] = ran
    return ctx
