"""The practical marking scheme (评分标准): sub-criteria and aspects with their maximum marks,
type (M measurement / J judgement), aggregation (mean / trimmed mean) and partial marks.

The aspects' maximum marks must add up to the maximum of the component scored by the scheme
(操作技能, 100 by default): ``scheme_problems`` says so on the administrator's page, the judges'
pages and the lock. The scheme can change until the first score is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from academy.accounts.models import User
from academy.audit.services import record
from academy.common.text import clean
from academy.competitions.models import Aggregation, Aspect, AspectKind, Event, SubCriterion
from academy.competitions.services import CompetitionError, has_scores, parse_decimal, require_admin
from academy.extensions import db

# --- marking scheme -------------------------------------------------------------------------

@dataclass
class AspectSpec:
    """One aspect as entered or imported: ``max_mark`` in points, ``partial_marks`` allowed marks
    (measurement only), ``aggregation`` mean|trimmed."""

    sub_criterion: str
    name: str
    kind: str
    max_mark: Decimal
    aggregation: str = Aggregation.MEAN
    partial_marks: list[Decimal] | None = None
    notes: str | None = None


def check_aspect(spec: AspectSpec) -> str | None:
    """Why the aspect cannot be saved, or None."""
    if not clean(spec.sub_criterion) or not clean(spec.name):
        return "请填写子模块和评分项名称"
    if spec.kind not in (AspectKind.MEASUREMENT, AspectKind.JUDGEMENT):
        return "类型应为 M（测量）或 J（评价）"
    if spec.max_mark is None or spec.max_mark <= 0 or spec.max_mark != spec.max_mark.quantize(Decimal("0.01")):
        return "分值应大于 0，最多两位小数"
    if spec.aggregation not in (Aggregation.MEAN, Aggregation.TRIMMED):
        return "请选择计分方式"
    if spec.partial_marks:
        if spec.kind == AspectKind.JUDGEMENT:
            return "评价类评分项按 0–3 分档评分，不设可选分值"
        for mark in spec.partial_marks:
            if mark < 0 or mark > spec.max_mark or mark != mark.quantize(Decimal("0.01")):
                return f"可选分值应在 0 到 {spec.max_mark.normalize():f} 之间，最多两位小数"
        if len(set(spec.partial_marks)) != len(spec.partial_marks):
            return "可选分值不能重复"
    return None


def parse_partial_marks(text: str | None) -> list[Decimal] | None:
    """``"0, 1.5, 3"`` (commas, 、 or spaces) → sorted Decimals; blank → None.

    Raises ``CompetitionError`` for a value that is not a number.
    """
    raw = clean(text).replace("，", ",").replace("、", ",").replace(" ", ",")  # noqa: RUF001
    parts = [p for p in raw.split(",") if p]
    if not parts:
        return None
    return sorted(parse_decimal(p) for p in parts)


def load_scheme(event: Event) -> list[SubCriterion]:
    """The event's sub-criteria in order, each with its aspects."""
    return list(db.session.scalars(
        select(SubCriterion).options(selectinload(SubCriterion.aspects))
        .where(SubCriterion.event_id == event.id).order_by(SubCriterion.position, SubCriterion.id)
    ))


def scheme_aspects(event: Event) -> list[Aspect]:
    """Every aspect of the event's marking scheme, in scheme order."""
    return [a for sub in load_scheme(event) for a in sub.aspects]


def scheme_total(aspects: list[Aspect]) -> Decimal:
    """Sum of the aspects' maximum marks."""
    return sum((a.max_mark for a in aspects), Decimal(0))


def scheme_problems(event: Event, aspects: list[Aspect] | None = None) -> list[str]:
    """What is wrong with the marking scheme (empty when it can be used).

    The aspects' maximum marks must add up to the scheme component's maximum score (100 by
    default); an event without a scheme component needs no scheme.
    """
    component = event.scheme_component
    aspects = scheme_aspects(event) if aspects is None else aspects
    if component is None:
        return ["有评分标准，但没有按评分标准计分的科目"] if aspects else []
    if not aspects:
        return [f"还没有{component.name}的评分标准"]
    total = scheme_total(aspects)
    if total != component.max_score:
        return [f"评分标准各项分值合计 {total.normalize():f} 分，应等于{component.name}满分 "
                f"{component.max_score.normalize():f} 分"]
    return []


def _check_scheme_editable(event: Event) -> None:
    if event.locked_at:
        raise CompetitionError("成绩已锁定，不能修改评分标准")
    if has_scores(event):
        raise CompetitionError("裁判已开始评分，不能再修改评分标准")


def _sub_criterion(event: Event, name: str, cache: dict[str, SubCriterion]) -> SubCriterion:
    name = clean(name)
    if name not in cache:
        sub = db.session.scalar(select(SubCriterion).where(SubCriterion.event_id == event.id,
                                                           SubCriterion.name == name))
        if sub is None:
            position = len(load_scheme(event)) + 1
            sub = SubCriterion(event_id=event.id, name=name, position=position)
            db.session.add(sub)
            db.session.flush()
        cache[name] = sub
    return cache[name]


def replace_scheme(event: Event, specs: list[AspectSpec], *, actor: User) -> list[Aspect]:
    """Replace the whole marking scheme (an import). Refused after the first score is saved.

    Raises ``CompetitionError`` for an invalid aspect (the sum is reported by ``scheme_problems``
    but does not block saving, so an administrator can fix it on the page).
    """
    require_admin(actor)
    _check_scheme_editable(event)
    for spec in specs:
        problem = check_aspect(spec)
        if problem:
            raise CompetitionError(f"{spec.name or '评分项'}：{problem}")
    for sub in load_scheme(event):
        db.session.delete(sub)
    db.session.flush()
    cache: dict[str, SubCriterion] = {}
    aspects = []
    for position, spec in enumerate(specs, start=1):
        sub = _sub_criterion(event, spec.sub_criterion, cache)
        aspect = Aspect(event_id=event.id, sub_criterion_id=sub.id, position=position)
        _copy_spec(aspect, spec)
        db.session.add(aspect)
        aspects.append(aspect)
    db.session.flush()
    record("competition.scheme_replaced", actor=actor, obj=event, aspects=len(aspects),
           total=str(scheme_total(aspects)))
    return aspects


def _copy_spec(aspect: Aspect, spec: AspectSpec) -> None:
    aspect.name, aspect.kind, aspect.max_mark = clean(spec.name), spec.kind, spec.max_mark
    aspect.aggregation = spec.aggregation
    aspect.partial_marks = [f"{p.normalize():f}" for p in spec.partial_marks] if spec.partial_marks else None
    aspect.notes = clean(spec.notes) or None


def save_aspect(event: Event, aspect: Aspect | None, spec: AspectSpec, *, actor: User) -> Aspect:
    """Add (``aspect`` None) or change one aspect. Refused after the first score is saved."""
    require_admin(actor)
    _check_scheme_editable(event)
    problem = check_aspect(spec)
    if problem:
        raise CompetitionError(problem)
    sub = _sub_criterion(event, spec.sub_criterion, {})
    if aspect is None:
        aspect = Aspect(event_id=event.id, position=len(scheme_aspects(event)) + 1)
        db.session.add(aspect)
    aspect.sub_criterion_id = sub.id
    _copy_spec(aspect, spec)
    db.session.flush()
    _drop_empty_sub_criteria(event)
    record("competition.aspect_saved", actor=actor, obj=aspect, name=aspect.name, max=str(aspect.max_mark),
           kind=aspect.kind, aggregation=aspect.aggregation)
    return aspect


def delete_aspect(aspect: Aspect, *, actor: User) -> None:
    """Remove an aspect from the scheme. Refused after the first score is saved."""
    require_admin(actor)
    event = db.session.get(Event, aspect.event_id)
    _check_scheme_editable(event)
    db.session.delete(aspect)
    db.session.flush()
    _drop_empty_sub_criteria(event)
    record("competition.aspect_deleted", actor=actor, obj=event, name=aspect.name)


def _drop_empty_sub_criteria(event: Event) -> None:
    for sub in load_scheme(event):
        db.session.refresh(sub, attribute_names=["aspects"])
        if not sub.aspects:
            db.session.delete(sub)
    db.session.flush()
