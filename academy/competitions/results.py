"""Results: totals, ranks and awards from the stored scores; publication; the public board;
the appeals export; award certificates.

The arithmetic is in ``scoring.py`` (pure, ``Decimal``); this module gathers the scores with a
handful of queries and applies the event's rules. Only judges' *submitted* sheets count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from academy.accounts.models import User
from academy.audit.services import record
from academy.common.masking import mask_id_number, mask_name
from academy.common.spreadsheets import build_xlsx
from academy.common.text import clean
from academy.common.timeutil import format_local, local_today, now_utc
from academy.competitions import judging, marking, scoring
from academy.competitions.models import (
    AwardRule,
    ComponentScore,
    ComponentSource,
    Entry,
    EntryStatus,
    Event,
    Recusal,
    Result,
    ScoreSheet,
    SheetStatus,
)
from academy.competitions.services import CompetitionError, lock_event, require_admin
from academy.errors import ValidationFailed
from academy.extensions import db

NOTE_LABELS = {"draft": "裁判保存草稿", "submit": "裁判提交", "entry": "录入", "import": "导入", "absent": "缺考",
               "recusal": "回避作废"}
NOT_PRESENT = "缺赛"
ABSENT = "缺考"
INCOMPLETE = "成绩不全"


@dataclass
class ResultRow:
    """One contestant's computed result.

    ``components`` holds the unrounded component scores (None when missing or absent),
    ``shown`` the same rounded for display; ``total`` is the rounded weighted total; ``rank``
    and ``award`` are None for contestants not ranked, whose ``note`` says why.
    """

    entry: Entry
    components: dict[str, Decimal | None] = field(default_factory=dict)
    shown: dict[str, Decimal | None] = field(default_factory=dict)
    total: Decimal | None = None
    rank: int | None = None
    award: AwardRule | None = None
    note: str | None = None


@dataclass
class EventResults:
    """Every contestant's result in rank order (unranked last, by number), and what blocks
    publication."""

    rows: list[ResultRow]
    blockers: list[str]
    aspect_marks: dict[tuple[int, int], Decimal]  # (entry id, aspect id) → unrounded mark
    judge_values: dict[tuple[int, int, int], Decimal]  # (entry id, aspect id, judge id) → value


def _tie_breaks(event: Event) -> list[scoring.TieBreak]:
    return [scoring.TieBreak.parse(t) for t in event.tie_breaks or []]


def _submitted_values(event: Event) -> tuple[dict[tuple[int, int], list[Decimal]],
                                               dict[tuple[int, int, int], Decimal]]:
    """The values that count: submitted sheets of marking judges not recused.

    Returns ``(values by (entry, aspect), value by (entry, aspect, judge))``.
    """
    marking = {j.judge_id for j in event.judges if j.marks}
    recused = {(r.entry_id, r.judge_id) for r in db.session.scalars(
        select(Recusal).where(Recusal.event_id == event.id))}
    values: dict[tuple[int, int], list[Decimal]] = defaultdict(list)
    by_judge: dict[tuple[int, int, int], Decimal] = {}
    for sheet in db.session.scalars(select(ScoreSheet).where(ScoreSheet.event_id == event.id,
                                                             ScoreSheet.status == SheetStatus.SUBMITTED)):
        if sheet.judge_id not in marking or (sheet.entry_id, sheet.judge_id) in recused:
            continue
        for score in sheet.scores:
            values[(sheet.entry_id, score.aspect_id)].append(score.value)
            by_judge[(sheet.entry_id, score.aspect_id, sheet.judge_id)] = score.value
    return values, by_judge


def _fill_components(row: ResultRow, event: Event, complete: bool, practical: Decimal | None,
                     entered: dict, places: int) -> None:
    """Put each component's score on ``row`` (None when missing or absent) and set its note."""
    absent = False
    for component in event.components:
        if component.source == ComponentSource.SCHEME:
            value = practical if complete else None
        else:
            stored = entered.get((row.entry.id, component.id))
            absent = absent or bool(stored and stored.absent)
            value = stored.value if stored and not stored.absent else None
        row.components[component.code] = value
        row.shown[component.code] = None if value is None else scoring.round_score(value, places)
    if absent:
        row.note = ABSENT
    elif not complete or any(v is None for v in row.components.values()):
        row.note = INCOMPLETE


def compute_results(event: Event) -> EventResults:
    """Totals, ranks and awards of every approved contestant by the event's rules.

    Contestants not checked in are 缺赛, contestants absent from an entered component are 缺考;
    neither is ranked. Blockers (for publication) are the completeness problems of
    ``judging.progress`` and ties that the rules cannot break when shared ranks are not allowed.
    """
    places = event.edition.precision
    state = judging.progress(event)
    complete_codes = {row.code for row in state.rows if row.complete}
    aspects = marking.scheme_aspects(event)
    entries = list(db.session.scalars(
        select(Entry).options(joinedload(Entry.learner))
        .where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED).order_by(Entry.number)))
    values, judge_values = _submitted_values(event)
    by_aspect = {a.id: a for a in aspects}
    aspect_marks = {key: scoring.aspect_mark(by_aspect[key[1]].kind, by_aspect[key[1]].max_mark, judged,
                                             by_aspect[key[1]].aggregation)
                    for key, judged in values.items() if key[1] in by_aspect}
    entered = {(c.entry_id, c.component_id): c for c in db.session.scalars(
        select(ComponentScore).where(ComponentScore.entry_id.in_([e.id for e in entries] or [0])))}
    weights = {c.code: scoring.Weight(c.weight, c.max_score) for c in event.components}
    rows = [ResultRow(entry=entry) for entry in entries]
    standings: list[scoring.Standing] = []
    for row in rows:
        entry = row.entry
        if entry.number is None or entry.checked_in_at is None:
            row.note = NOT_PRESENT
            continue
        complete = entry.code in complete_codes
        practical = scoring.component_total(aspect_marks[(entry.id, a.id)] for a in aspects) if complete else None
        _fill_components(row, event, complete, practical, entered, places)
        if row.note is None:
            raw_total = scoring.weighted_total(row.components, weights)
            row.total = scoring.round_score(raw_total, places)
            standings.append(scoring.Standing(key=entry.id, total=raw_total, components=row.components,
                                              time_used=entry.time_used_seconds))
    ranking = scoring.rank(standings, _tie_breaks(event), shared_ranks=event.shared_ranks, places=places)
    awards = scoring.assign_awards(ranking.ranks, [scoring.Tier(r.name, r.count, r.share) for r in event.award_rules],
                                   event.award_mode)
    by_id = {row.entry.id: row for row in rows}
    for key, r in ranking.ranks.items():
        by_id[key].rank = r
        by_id[key].award = event.award_rules[awards[key]] if key in awards else None
    blockers = state.problems + state.missing
    for group in ranking.unresolved:
        numbers = "、".join(by_id[k].entry.number_label + "号" for k in group)
        blockers.append(f"{numbers}总成绩和所有排名条件都相同，本赛项不允许并列名次："
                        "请在排名规则中增加条件（如用时），或允许并列")
    ordered = [by_id[k] for k in ranking.order] + [r for r in rows if r.rank is None]
    return EventResults(rows=ordered, blockers=blockers, aspect_marks=aspect_marks, judge_values=judge_values)


def publish(event: Event, *, actor: User, now: datetime | None = None) -> list[Result]:
    """An administrator publishes the results: names appear beside numbers on the public board.

    Needs the chief judge's lock and nothing blocking (``compute_results``). Raises
    ``ValidationFailed`` whose ``errors`` list every blocker (e.g. the missing scores).
    """
    require_admin(actor)
    lock_event(event)
    if event.published_at:
        raise CompetitionError("成绩已经公布")
    computed = compute_results(event)
    blockers = ([] if event.locked_at else ["裁判长还没有锁定成绩"]) + computed.blockers
    if blockers:
        raise ValidationFailed(f"还有 {len(blockers)} 个问题，不能公布成绩", errors=blockers)
    db.session.execute(Result.__table__.delete().where(Result.event_id == event.id))
    results = []
    for row in computed.rows:
        result = Result(event_id=event.id, entry_id=row.entry.id, rank=row.rank, total=row.total,
                        total_text=None if row.total is None else f"{row.total:f}",
                        components={k: (None if v is None else f"{v:f}") for k, v in row.shown.items()},
                        award=row.award.name if row.award else None,
                        award_position=row.award.position if row.award else None,
                        title=row.award.title if row.award else None,
                        level_note=row.award.level_note if row.award else None, note=row.note)
        db.session.add(result)
        results.append(result)
    event.published_at, event.published_by_id = now or now_utc(), actor.id
    db.session.flush()
    record("competition.results_published", actor=actor, obj=event, ranked=sum(1 for r in results if r.rank),
           awards=sum(1 for r in results if r.award))
    return results


def withdraw_publication(event: Event, reason: str, *, actor: User) -> None:
    """An administrator takes published results back (e.g. an appeal upheld) with a reason.

    The board shows "复核中" again; the chief judge can then unlock. Raises ``CompetitionError``.
    """
    require_admin(actor)
    if not event.published_at:
        raise CompetitionError("成绩还没有公布")
    reason = clean(reason)
    if len(reason) < 2:
        raise CompetitionError("撤回公布需要写明原因")
    db.session.execute(Result.__table__.delete().where(Result.event_id == event.id))
    event.published_at = event.published_by_id = None
    db.session.flush()
    record("competition.publication_withdrawn", actor=actor, obj=event, reason=reason)


def published_results(event: Event) -> list[Result]:
    """The published results of the event, ranked first, with contestants loaded (empty before)."""
    if not event.published_at:
        return []
    rows = db.session.scalars(
        select(Result).options(joinedload(Result.entry).joinedload(Entry.learner))
        .where(Result.event_id == event.id)
    ).unique().all()
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.entry.number or 0))


def results_by_entry(entry_ids: list[int]) -> dict[int, Result]:
    """Published results of the given entries (for "my entries")."""
    if not entry_ids:
        return {}
    return {r.entry_id: r for r in db.session.scalars(select(Result).where(Result.entry_id.in_(entry_ids)))}


# --- the appeals export ---------------------------------------------------------------------

def _seconds(value: int | None) -> str:
    return "" if value is None else f"{value // 60}:{value % 60:02d}"


def export_workbook(event: Event, *, full: bool = False) -> bytes:
    """The appeals desk's workbook (.xlsx): results, every judge's value per aspect, aspect
    marks, and the score history. Names are full (administrators only); ID numbers masked
    unless ``full`` (the caller audits the unmasking).
    """
    computed = compute_results(event)
    places = event.edition.precision
    components = list(event.components)
    aspects = marking.scheme_aspects(event)
    judges = sorted((j for j in event.judges if j.marks), key=lambda j: (j.judge.name, j.id))
    headers = ["名次", "参赛号", "姓名", "身份证号", "所属平台", "所在县（市、区）"] \
        + [c.name for c in components] + ["总成绩", "奖项", "称号", "用时", "备注"]
    summary = []
    for row in computed.rows:
        person = row.entry.learner
        summary.append([row.rank or "", row.entry.number_label, person.name,
                        person.id_number if full else mask_id_number(person.id_number),
                        row.entry.platform or "", row.entry.district or ""]
                       + [("" if row.shown.get(c.code) is None else str(row.shown[c.code])) for c in components]
                       + ["" if row.total is None else str(row.total), row.award.name if row.award else "",
                          (row.award.title or "") if row.award else "", _seconds(row.entry.time_used_seconds),
                          row.note or ""])
    sub_names = {a.id: a.sub_criterion.name for a in aspects}
    detail, marks = [], []
    for row in computed.rows:
        for aspect in aspects:
            mark = computed.aspect_marks.get((row.entry.id, aspect.id))
            judged = [(j, computed.judge_values.get((row.entry.id, aspect.id, j.judge_id))) for j in judges]
            for j, value in judged:
                if value is not None:
                    detail.append([row.entry.number_label, row.entry.learner.name, sub_names[aspect.id], aspect.name,
                                   aspect.kind, str(aspect.max_mark), j.judge.name, str(value)])
            marks.append([row.entry.number_label, row.entry.learner.name, aspect.name, aspect.kind,
                          str(aspect.max_mark), "去高低分平均" if aspect.aggregation == "trimmed" else "平均"]
                         + [("" if v is None else str(v)) for _, v in judged]
                         + ["" if mark is None else str(scoring.round_score(mark, 4))])
    numbers = {row.entry.id: (row.entry.number_label, row.entry.learner.name) for row in computed.rows}
    names = {a.id: a.name for a in aspects}
    comp_names = {c.id: c.name for c in components}
    changes = judging.score_history(event)
    users = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(
        {h.actor_id for h in changes if h.actor_id} or {0})))}
    history = [[format_local(h.at, "%Y-%m-%d %H:%M:%S"), *numbers.get(h.entry_id, ("", "")),
                names.get(h.aspect_id) or comp_names.get(h.component_id) or "",
                users.get(h.actor_id, ""), "" if h.old_value is None else str(h.old_value),
                "" if h.new_value is None else str(h.new_value), NOTE_LABELS.get(h.note, h.note)]
               for h in changes]
    sheets = [
        ("成绩总表", headers, summary),
        ("评分明细", ["参赛号", "姓名", "子模块", "评分项", "类型", "分值", "裁判", "评分"], detail),
        ("评分项得分", ["参赛号", "姓名", "评分项", "类型", "分值", "计分方式"] + [j.judge.name for j in judges]
         + [f"得分（保留4位，总成绩保留{places}位）"], marks),
        ("修改记录", ["时间", "参赛号", "姓名", "项目", "操作人", "原值", "新值", "说明"], history),
    ]
    return build_xlsx(sheets, text_columns=("身份证号", "参赛号"))


# --- award certificates ---------------------------------------------------------------------

def _certificate_services():
    try:
        from academy.certificates import services as certificate_services
    except ImportError:  # pragma: no cover - the certificates module ships with the product
        certificate_services = None
    if certificate_services is None or not hasattr(certificate_services, "issue_award_certificate"):
        raise CompetitionError("证书模块尚未启用，暂时不能发放获奖证书")
    return certificate_services


def issue_award_certificates(event: Event, *, actor: User, issued_on: date | None = None) -> list:
    """Issue (idempotently) an award certificate to every published winner; returns them in rank order.

    Uses ``academy.certificates.services.issue_award_certificate``. Raises ``CompetitionError``
    before publication or when nobody won an award.
    """
    require_admin(actor)
    if not event.published_at:
        raise CompetitionError("成绩公布后才能发放获奖证书")
    winners = [r for r in published_results(event) if r.award]
    if not winners:
        raise CompetitionError("本赛项没有获奖选手")
    certificates_module = _certificate_services()
    issued_on = issued_on or local_today()
    certificates = []
    for result in winners:
        certificates.append(certificates_module.issue_award_certificate(
            result.entry.learner, edition_name=event.edition.name, event_name=event.name, award=result.award,
            rank=result.rank, title=result.title, level_note=result.level_note, issued_on=issued_on, actor=actor))
    record("competition.certificates_issued", actor=actor, obj=event, count=len(certificates))
    return certificates


def award_certificates_pdf(event: Event, *, actor: User, issued_on: date | None = None) -> bytes:
    """Issue the winners' certificates (if not yet) and return the valid ones as one print-ready PDF
    in rank order (a revoked certificate is left out: reissue it in the certificates module)."""
    certificates = [c for c in issue_award_certificates(event, actor=actor, issued_on=issued_on)
                    if getattr(c, "is_valid", True)]
    if not certificates:
        raise CompetitionError("没有有效的获奖证书可打印")
    return _certificate_services().render_batch_pdf(certificates)


def board_rows(event: Event) -> list[dict]:
    """The public board's rows: rank, number, masked name, platform, total, award (published only)."""
    return [{"rank": r.rank, "number": r.entry.number_label, "name": mask_name(r.entry.learner.name),
             "platform": r.entry.platform or "", "total": r.total_text, "award": r.award,
             "award_position": r.award_position, "title": r.title, "note": r.note} for r in published_results(event)]
