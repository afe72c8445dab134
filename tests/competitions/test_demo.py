"""The competitions demo step: the 2026 rider contest, published, and an event in registration."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from academy.audit.models import AuditEvent
from academy.common.timeutil import now_utc
from academy.competitions import marking, registration, results
from academy.competitions.models import Entry, EntryStatus, Event, EventStatus, Recusal
from academy.demo.loader import load_demo

STEPS = ("academy.demo.base", "academy.competitions.demo")


def test_the_demo_edition_has_a_published_rider_contest_and_an_event_in_registration(db):
    ctx = load_demo(now=now_utc(), steps=STEPS)
    rider, courier = db.session.scalars(select(Event).order_by(Event.id)).all()
    assert rider.edition.name.endswith("年“虔能杯”网约配送员职业技能竞赛")
    approved = registration.event_entries(rider, (EntryStatus.APPROVED,))
    assert len(approved) == 63
    assert Counter(e.platform for e in approved) == {"美团": 20, "饿了么": 18, "顺丰同城": 13, "达达": 12}
    assert {e.status for e in registration.event_entries(rider)} == {"approved", "rejected", "withdrawn"}
    assert len([j for j in rider.judges if j.marks]) == 5 and sum(j.is_chief for j in rider.judges) == 1
    aspects = marking.scheme_aspects(rider)
    assert 15 <= len(aspects) <= 20 and marking.scheme_total(aspects) == 100
    assert {a.kind for a in aspects} == {"M", "J"}
    assert rider.locked_at and rider.published_at
    board = results.board_rows(rider)
    assert len(board) == 63 and all(r["rank"] for r in board)
    awards = Counter(r["award"] for r in board if r["award"])
    assert awards["一等奖"] >= 1 and sum(awards.values()) >= 9
    assert db.session.scalar(select(func.count()).select_from(Recusal)) == 1
    unlocked = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "competition.scores_unlocked"))
    assert unlocked.details["reason"].startswith("选手申诉C2")
    mine = registration.get_entry(rider, ctx.demo_learner)
    assert mine is not None and results.results_by_entry([mine.id])[mine.id].rank is not None
    assert courier.status == EventStatus.REGISTRATION
    statuses = Counter(e.status for e in registration.event_entries(courier))
    assert statuses["pending"] > 0 and statuses["approved"] > 0
    assert registration.eligibility_problems(ctx.demo_learner, courier, now=ctx.now) == []
    assert db.session.scalar(select(func.count()).select_from(Entry).where(Entry.number.is_not(None))) == 63
