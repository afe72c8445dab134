"""Builders for competition tests: editions, events, schemes, contestants, judges, scores."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from academy.accounts.models import Role
from academy.competitions import judging, marking, registration, services
from academy.competitions.marking import AspectSpec
from academy.competitions.models import Edition, EventStatus
from academy.extensions import db
from tests.factories import make_admin, make_learner, make_user, valid_id_number

NOW = datetime(2026, 5, 10, 2, 0, tzinfo=UTC)  # 10:00 in Ganzhou
CONTEST_DAY = date(2026, 5, 14)
_seq = itertools.count(1)

SMALL_SCHEME = (
    AspectSpec("A 出车前准备", "A1 检查车辆", "M", Decimal(20)),
    AspectSpec("A 出车前准备", "A2 仪容仪表", "J", Decimal(30)),
    AspectSpec("B 骑行技能", "B1 蛇形绕桩", "M", Decimal(20), partial_marks=[Decimal(0), Decimal(10), Decimal(20)]),
    AspectSpec("B 骑行技能", "B2 骑行平稳性", "J", Decimal(30), aggregation="trimmed"),
)


def make_judge(**overrides):
    return make_user(Role.JUDGE, **overrides)


def make_edition(*, actor=None, **overrides) -> Edition:
    n = next(_seq)
    values = services.EditionValues(name=overrides.pop("name", f"2026年“虔能杯”网约配送员职业技能竞赛{n}"),
                                    year=2026, place="赣州市章贡区", **overrides)
    return services.save_edition(None, values, actor=actor or make_admin())


def make_event(edition: Edition | None = None, *, admin=None, components=None, awards=None, status=EventStatus.REGISTRATION,
               **overrides):
    """An event open for registration (window around ``NOW``), theory 30 + practical 70, 1/2/3 awards."""
    admin = admin or make_admin()
    edition = edition or make_edition(actor=admin)
    overrides.setdefault("registration_opens_at", NOW - timedelta(days=10))
    overrides.setdefault("registration_closes_at", NOW + timedelta(days=2))
    values = services.EventValues(
        name=overrides.pop("name", "网约配送员"), occupation="网约配送员", contest_date=CONTEST_DAY,
        capacity=overrides.pop("capacity", 80), **overrides)
    event = services.save_event(None, values, list(components or services.DEFAULT_COMPONENTS),
                                list(awards if awards is not None else services.DEFAULT_AWARDS),
                                edition=edition, actor=admin)
    if status != EventStatus.SETUP:
        services.set_status(event, EventStatus.REGISTRATION, actor=admin)
    return event


def make_rider(**overrides):
    """A learner with a real name, an ID number (born 1990) and the occupation group 外卖员."""
    n = next(_seq) + 500
    values = {"id_number": valid_id_number(n), "birth_date": date(1990, 1, 1), "gender": "男",
              "occupation_group": "外卖员", "platform": "美团", "district": "章贡区"}
    values.update(overrides)
    return make_learner(**values)


def add_scheme(event, specs=SMALL_SCHEME, *, admin=None):
    return marking.replace_scheme(event, list(specs), actor=admin or make_admin())


def ready_event(contestants: int = 3, judges: int = 1, *, admin=None, scheme=SMALL_SCHEME, chief_marks=True,
                **event_kwargs):
    """An event past registration: scheme, judges (the first is chief), contestants drawn and checked in.

    Returns ``(event, admin, judges, entries)``; entries in drawn-number order.
    """
    admin = admin or make_admin()
    event = make_event(admin=admin, **event_kwargs)
    add_scheme(event, scheme, admin=admin)
    riders = [make_rider() for _ in range(contestants)]
    entries = [registration.add_entry(r, event, actor=admin, now=NOW)[0] for r in riders]
    team = [make_judge() for _ in range(judges)]
    for i, judge in enumerate(team):
        services.assign_judge(event, judge, is_chief=(i == 0), marks=chief_marks or i > 0, actor=admin)
    services.set_status(event, EventStatus.CONTEST, actor=admin)
    registration.draw(event, actor=admin, seed="test-seed", now=NOW)
    for entry in entries:
        registration.check_in(event, entry.learner.id_number, actor=admin, now=NOW)
    db.session.flush()
    return event, admin, team, sorted(entries, key=lambda e: e.number)


def full_marks(event, *, j: int = 3, m_fraction: Decimal = Decimal(1)) -> dict[int, str]:
    """Values for every aspect: J aspects ``j``, M aspects ``max × m_fraction`` (partial marks: nearest)."""
    values = {}
    for aspect in marking.scheme_aspects(event):
        if aspect.kind == "J":
            values[aspect.id] = str(j)
        elif aspect.partial_marks:
            target = aspect.max_mark * m_fraction
            values[aspect.id] = min(aspect.partial_marks, key=lambda p: abs(Decimal(p) - target))
        else:
            values[aspect.id] = str((aspect.max_mark * m_fraction / Decimal("0.5")).to_integral_value() * Decimal("0.5"))
    return values


def score_everything(event, team, entries, admin, *, theory=None, values=None):
    """Every marking judge submits ``values`` (default full marks) for every entry; theory entered."""
    theory_component = event.component("theory")
    for entry in entries:
        for judge in team:
            assignment = services.assignment_of(event, judge)
            if assignment.marks and entry.id not in services.recused_entry_ids(event, judge):
                judging.save_sheet(event, judge, entry, (values or {}).get(entry.id) or full_marks(event), submit=True,
                                   now=NOW)
        if theory_component is not None:
            value = (theory or {}).get(entry.id, Decimal(80))
            judging.set_component_score(entry, theory_component, value, actor=admin, now=NOW)
    db.session.flush()
