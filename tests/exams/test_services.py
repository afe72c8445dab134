"""Exam rules through the services: assessments, the sheet, audit, publication, eligibility, resits, outcomes."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from academy.audit.models import AuditEvent
from academy.errors import Conflict, PermissionDenied
from academy.exams import services, stats
from academy.exams.models import Attempt, ExamScore, ExamScoreChange
from academy.exams.scoring import ABSENT, Mark
from academy.exams.services import AssessmentSettings, ExamError, ReasonRequired, SheetInvalid
from academy.extensions import db
from tests.exams.builders import (
    NOW,
    component_ids,
    components,
    hold_sessions,
    make_assessment,
    make_class,
    set_marks,
)
from tests.factories import make_instructor

D = Decimal


@contextmanager
def count_queries():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def history_rows():
    return db.session.scalars(select(ExamScoreChange).order_by(ExamScoreChange.id)).all()


# --- assessments -----------------------------------------------------------------------------

def test_a_new_assessment_has_theory_and_practical_out_of_100_with_pass_mark_60():
    cls = make_class(0)
    assessment = make_assessment(cls)
    assert assessment.title == "结业考核"
    assert [(c.name, c.max_points, c.pass_mark, c.weight) for c in assessment.components] == [
        ("理论知识", D("100"), D("60"), D("50")), ("操作技能", D("100"), D("60"), D("50"))]
    assert assessment.pass_rule == "all_components" and assessment.attempt_policy == "best"
    assert not assessment.is_published
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_id == assessment.id)) == \
        "exams.assessment_created"


def test_a_cohort_has_one_original_assessment():
    cls = make_class(0)
    make_assessment(cls)
    with pytest.raises(Conflict):
        make_assessment(cls)


def test_instructor_of_another_cohort_cannot_create_or_grade():
    cls = make_class(1)
    stranger = make_instructor()
    with pytest.raises(PermissionDenied):
        services.create_assessment(cls.cohort, actor=stranger)
    assessment = make_assessment(cls)
    with pytest.raises(PermissionDenied):
        set_marks(assessment, {cls.learners[0]: ("80", "80")}, actor=stranger)


@pytest.mark.parametrize(("specs", "message"), [
    ((("理论知识", 100, 60, 50), ("理论知识", 100, 60, 50)), "不能重复"),
    ((("理论知识", 100, 120, 50),), "及格分"),
    ((("理论知识", 100, 60, 0), ("操作技能", 100, 60, 0)), "权重之和"),
    ((), "至少需要一个科目"),
])
def test_invalid_component_settings_are_refused(specs, message):
    cls = make_class(0)
    with pytest.raises(ExamError, match=message):
        make_assessment(cls, components=components(*specs))


def test_components_with_marks_cannot_be_removed_or_get_a_maximum_below_a_mark():
    cls = make_class(1)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("88.5", None)})
    db.session.commit()
    with pytest.raises(ExamError, match="已有成绩，不能删除"):
        services.update_assessment(assessment, AssessmentSettings(components=components(("操作技能", 100, 60, 50))),
                                   actor=cls.instructor)
    db.session.rollback()
    with pytest.raises(ExamError, match="满分不能低于"):
        services.update_assessment(assessment, AssessmentSettings(
            components=components(("理论知识", 80, 48, 50), ("操作技能", 100, 60, 50))), actor=cls.instructor)


def test_settings_of_a_published_assessment_cannot_change():
    cls = make_class(0)
    assessment = make_assessment(cls)
    services.publish(assessment, actor=cls.instructor, now=NOW)
    with pytest.raises(ExamError, match="先撤回"):
        services.update_assessment(assessment, AssessmentSettings(title="结业考核（改）"), actor=cls.instructor)


def test_weights_and_rule_can_be_changed_before_publication():
    cls = make_class(1)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("57", "59.5")})
    services.update_assessment(assessment, AssessmentSettings(
        pass_rule="weighted_total", components=components(("理论知识", 100, 60, 10), ("操作技能", 100, 60, 90))),
        actor=cls.instructor)
    row = services.gradebook(assessment, now=NOW)[0]
    assert row.result.total == D("59.3") and row.result.passed is False


# --- the sheet -------------------------------------------------------------------------------

def test_the_sheet_lists_every_enrolled_learner_in_roster_or_name_order():
    cls = make_class(3, names=["王五", "李四", "张三"])
    assessment = make_assessment(cls)
    assert [r.learner.name for r in services.gradebook(assessment, now=NOW)] == ["王五", "李四", "张三"]
    by_name = [r.learner.name for r in services.gradebook(assessment, order="name", now=NOW)]
    assert by_name == sorted(["王五", "李四", "张三"])


def test_marks_are_saved_as_decimals_with_one_history_row_each():
    cls = make_class(2)
    assessment = make_assessment(cls)
    a, b = cls.learners
    changed = set_marks(assessment, {a: ("８８．５", "92"), b: ("缺考", "0")})
    assert changed == 4
    db.session.expire_all()
    rows = {r.learner.id: r for r in services.gradebook(assessment, now=NOW)}
    theory, practical = component_ids(assessment)
    assert rows[a.id].marks == {theory: Mark(points=D("88.5")), practical: Mark(points=D("92"))}
    assert rows[b.id].marks == {theory: ABSENT, practical: Mark(points=D("0"))}
    assert rows[a.id].result.total == D("90.3") and rows[a.id].result.passed is True  # 90.25 → 90.3
    assert rows[b.id].result.passed is False and rows[b.id].result.total is None
    stored = db.session.scalars(select(ExamScore.points).order_by(ExamScore.id)).all()
    assert all(p is None or isinstance(p, Decimal) for p in stored)
    history = history_rows()
    assert len(history) == 4
    assert history[0].old_mark is None and history[0].new_mark == Mark(points=D("88.5"))
    assert history[0].changed_by_id == cls.instructor.id and history[0].changed_at == NOW
    assert history[2].new_absent and history[2].new_points is None


def test_absent_and_zero_are_different_marks():
    cls = make_class(2)
    assessment = make_assessment(cls)
    a, b = cls.learners
    set_marks(assessment, {a: ("70", "缺考"), b: ("70", "0")})
    rows = {r.learner.id: r for r in services.gradebook(assessment, now=NOW)}
    assert rows[a.id].result.absent and rows[a.id].result.total is None
    assert not rows[b.id].result.absent and rows[b.id].result.total == D("35.0")
    assert stats.result_label(rows[a.id]) == "不合格（缺考）" and stats.result_label(rows[b.id]) == "不合格"


def test_a_missing_component_leaves_the_result_pending():
    cls = make_class(1)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("95", None)})
    row = services.gradebook(assessment, now=NOW)[0]
    assert row.result.pending and row.result.total is None
    assert stats.result_label(row) == "待定"


def test_one_wrong_cell_saves_nothing_and_every_wrong_cell_is_reported():
    cls = make_class(3)
    assessment = make_assessment(cls)
    theory, practical = component_ids(assessment)
    a, b, c = cls.learners
    db.session.commit()
    entries = {(a.id, theory): "80", (a.id, practical): "100.5", (b.id, theory): "七十", (b.id, practical): "70.3",
               (c.id, theory): "-5", (c.id, practical): "90"}
    with pytest.raises(SheetInvalid) as err:
        services.record_scores(assessment, entries, actor=cls.instructor, now=NOW)
    assert err.value.cells == {
        (a.id, practical): "超过满分100", (b.id, theory): "请填写数字（如 88 或 88.5）或“缺考”",
        (b.id, practical): "分数只能是0.5的倍数（如 88 或 88.5）", (c.id, theory): "分数不能是负数"}
    db.session.rollback()
    assert services.gradebook(assessment, now=NOW)[0].learner.id == a.id
    assert db.session.scalar(select(ExamScore.id)) is None
    assert history_rows() == []


def test_a_learner_not_on_the_sheet_is_refused():
    cls = make_class(1)
    other = make_class(1)
    assessment = make_assessment(cls)
    theory = component_ids(assessment)[0]
    with pytest.raises(SheetInvalid) as err:
        services.record_scores(assessment, {(other.learners[0].id, theory): "80"}, actor=cls.instructor, now=NOW)
    assert "不在这张成绩单上" in err.value.cells[(other.learners[0].id, theory)]


def test_saving_the_same_values_again_writes_no_history():
    cls = make_class(1)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("80", "缺考")})
    assert set_marks(assessment, {cls.learners[0]: ("80.0", "缺考")}) == 0
    assert len(history_rows()) == 2


def test_clearing_a_cell_removes_the_mark_and_is_recorded():
    cls = make_class(1)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("80", "70")})
    assert set_marks(assessment, {cls.learners[0]: ("", None)}) == 1
    row = services.gradebook(assessment, now=NOW)[0]
    assert list(row.marks) == [component_ids(assessment)[1]] and row.result.pending
    last = history_rows()[-1]
    assert last.old_mark == Mark(points=D("80")) and last.new_mark is None


def test_a_sheet_mixing_new_changed_and_cleared_marks_is_seen_at_once_in_the_same_session():
    cls = make_class(3)
    assessment = make_assessment(cls)
    a, b, c = cls.learners
    theory, practical = component_ids(assessment)
    set_marks(assessment, {a: ("80", None), c: ("50", "60")})
    before = {r.learner.id: r.attempt for r in services.gradebook(assessment, now=NOW)}  # scores loaded
    changed = services.record_scores(assessment, {(a.id, theory): "", (a.id, practical): "70", (b.id, theory): "90",
                                                  (c.id, practical): "65"}, actor=cls.instructor, now=NOW)
    assert changed == 4
    assert {s.component_id: s.points for s in before[a.id].scores} == {practical: D("70")}  # not a stale copy
    rows = {r.learner.id: r for r in services.gradebook(assessment, now=NOW)}
    assert rows[a.id].marks == {practical: Mark(points=D("70"))}
    assert rows[b.id].marks == {theory: Mark(points=D("90"))} and rows[b.id].attempt_no == 1
    assert rows[c.id].marks == {theory: Mark(points=D("50")), practical: Mark(points=D("65"))}
    last = [(h.attempt.learner_id, h.component_id, h.old_mark, h.new_mark) for h in history_rows()[-4:]]
    assert last == [(a.id, theory, Mark(points=D("80")), None), (a.id, practical, None, Mark(points=D("70"))),
                    (b.id, theory, None, Mark(points=D("90"))),
                    (c.id, practical, Mark(points=D("60")), Mark(points=D("65")))]


def test_cells_left_as_shown_do_not_undo_a_colleagues_change():
    cls = make_class(2)
    assessment = make_assessment(cls)
    a, b = cls.learners
    theory, _ = component_ids(assessment)
    set_marks(assessment, {a: ("60", None), b: ("70", None)})
    shown = {(a.id, theory): "60", (b.id, theory): "70"}
    set_marks(assessment, {a: ("65", None)})  # a colleague corrects a's mark meanwhile
    changed = services.record_scores(assessment, {(a.id, theory): "60", (b.id, theory): "75"}, shown=shown,
                                     actor=cls.instructor, now=NOW)
    assert changed == 1
    rows = {r.learner.id: r for r in services.gradebook(assessment, now=NOW)}
    assert rows[a.id].marks[theory].points == D("65") and rows[b.id].marks[theory].points == D("75")


def test_changing_a_cell_a_colleague_changed_meanwhile_is_a_conflict():
    cls = make_class(1)
    assessment = make_assessment(cls)
    (a,) = cls.learners
    theory, _ = component_ids(assessment)
    set_marks(assessment, {a: ("60", None)})
    set_marks(assessment, {a: ("65", None)})
    with pytest.raises(SheetInvalid) as err:
        services.record_scores(assessment, {(a.id, theory): "62"}, shown={(a.id, theory): "60"},
                               actor=cls.instructor, now=NOW)
    assert "刚被他人改为“65”" in err.value.cells[(a.id, theory)]
    assert err.value.conflicts == {(a.id, theory)}


# --- audit -----------------------------------------------------------------------------------

def test_after_publication_a_change_needs_a_reason_and_the_history_keeps_it():
    cls = make_class(1)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("58", "70")})
    services.publish(assessment, actor=cls.instructor, now=NOW)
    db.session.commit()
    with pytest.raises(ReasonRequired):
        set_marks(assessment, {cls.learners[0]: ("60", "70")})
    db.session.rollback()
    later = NOW + timedelta(days=1)
    set_marks(assessment, {cls.learners[0]: ("60", "70")}, actor=cls.admin, reason="试卷复核，第3题漏计2分", now=later)
    last = history_rows()[-1]
    assert (last.old_points, last.new_points, last.reason, last.changed_by_id, last.changed_at) == (
        D("58"), D("60"), "试卷复核，第3题漏计2分", cls.admin.id, later)


def test_a_reason_is_still_required_after_results_were_withdrawn():
    cls = make_class(1)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("58", "70")})
    services.publish(assessment, actor=cls.instructor, now=NOW)
    services.unpublish(assessment, "发现录入错误", actor=cls.instructor, now=NOW)
    with pytest.raises(ReasonRequired):
        set_marks(assessment, {cls.learners[0]: ("60", "70")})


def test_the_history_is_append_only():
    cls = make_class(1)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("58", "70")})
    db.session.commit()
    row = history_rows()[0]
    row.reason = "篡改"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(history_rows()[0])
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    assert len(history_rows()) == 2


def test_history_lists_changes_newest_first_and_filters_by_learner():
    cls = make_class(2)
    assessment = make_assessment(cls)
    a, b = cls.learners
    set_marks(assessment, {a: ("50", None)})
    set_marks(assessment, {b: ("60", None)}, now=NOW + timedelta(minutes=1))
    assert [c.new_points for c in services.history(assessment)] == [D("60"), D("50")]
    assert [c.attempt.learner_id for c in services.history(assessment, learner_id=a.id)] == [a.id]


# --- eligibility -----------------------------------------------------------------------------

def test_a_learner_below_the_attendance_threshold_is_not_eligible_and_cannot_be_graded():
    cls = make_class(2)
    good, poor = cls.learners
    hold_sessions(cls, 5, attended={good: 5, poor: 3})  # 60 % < 80 %
    assessment = make_assessment(cls)
    rows = {r.learner.id: r for r in services.gradebook(assessment, now=NOW)}
    assert rows[good.id].eligibility.eligible
    assert not rows[poor.id].eligibility.eligible and rows[poor.id].eligibility.rate == D("0.6")
    with pytest.raises(SheetInvalid) as err:
        set_marks(assessment, {good: ("80", "80"), poor: ("80", "80")})
    assert all("出勤未达标" in msg for msg in err.value.cells.values()) and len(err.value.cells) == 2


def test_an_admin_override_with_a_reason_makes_the_learner_eligible():
    cls = make_class(1)
    (poor,) = cls.learners
    hold_sessions(cls, 5, attended={poor: 2})
    assessment = make_assessment(cls)
    with pytest.raises(PermissionDenied):
        services.override_eligibility(cls.cohort, poor, "工伤", actor=cls.instructor, now=NOW)
    with pytest.raises(ExamError, match="请填写特批原因"):
        services.override_eligibility(cls.cohort, poor, "  ", actor=cls.admin, now=NOW)
    override = services.override_eligibility(cls.cohort, poor, "工伤请假，已补课", actor=cls.admin, now=NOW)
    assert (override.granted_by_id, override.reason) == (cls.admin.id, "工伤请假，已补课")
    assert db.session.scalar(select(AuditEvent.details).where(
        AuditEvent.action == "exams.eligibility_overridden"))["reason"] == "工伤请假，已补课"
    row = services.gradebook(assessment, now=NOW)[0]
    assert row.eligibility.eligible and not row.eligibility.meets_threshold
    assert set_marks(assessment, {poor: ("80", "80")}) == 2
    with pytest.raises(Conflict):
        services.override_eligibility(cls.cohort, poor, "再来一次", actor=cls.admin, now=NOW)


def test_ineligible_learners_without_marks_do_not_block_publication():
    cls = make_class(2)
    good, poor = cls.learners
    hold_sessions(cls, 5, attended={good: 5, poor: 0})
    assessment = make_assessment(cls)
    set_marks(assessment, {good: ("80", "80")})
    services.publish(assessment, actor=cls.instructor, now=NOW)
    assert assessment.is_published


# --- publication -----------------------------------------------------------------------------

def test_publication_with_pending_results_needs_confirmation():
    cls = make_class(2)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("80", "80")})
    with pytest.raises(ExamError, match="还有 1 名学员"):
        services.publish(assessment, actor=cls.instructor, now=NOW)
    services.publish(assessment, actor=cls.instructor, now=NOW, allow_incomplete=True)
    assert assessment.published_at == NOW and assessment.published_by_id == cls.instructor.id


def test_publish_and_unpublish_are_logged_and_unpublish_needs_a_reason():
    cls = make_class(1)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("80", "80")})
    services.publish(assessment, actor=cls.instructor, now=NOW)
    with pytest.raises(Conflict):
        services.publish(assessment, actor=cls.instructor, now=NOW)
    with pytest.raises(ExamError, match="撤回原因"):
        services.unpublish(assessment, " ", actor=cls.instructor, now=NOW)
    services.unpublish(assessment, "理论试卷有一题答案有误", actor=cls.admin, now=NOW)
    assert assessment.published_at is None and assessment.first_published_at == NOW
    log = services.publication_log(assessment)
    assert [e.action for e in log] == ["exams.unpublished", "exams.published"]
    assert log[0].details["reason"] == "理论试卷有一题答案有误" and log[0].actor_id == cls.admin.id


# --- outcomes --------------------------------------------------------------------------------

def test_there_is_no_outcome_before_publication():
    cls = make_class(1)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("80", "80")})
    assert services.learner_outcome(cls.learners[0].id, cls.cohort) is None
    assert services.cohort_outcomes(cls.cohort) == {}
    assert services.learner_results(cls.learners[0]) == []


def test_outcomes_after_publication_agree_with_the_sheet():
    cls = make_class(3)
    assessment = make_assessment(cls)
    a, b, c = cls.learners
    set_marks(assessment, {a: ("88.5", "71"), b: ("70", "缺考"), c: ("59.5", None)})
    services.publish(assessment, actor=cls.instructor, now=NOW, allow_incomplete=True)
    outcome = services.learner_outcome(a.id, cls.cohort)
    assert outcome.passed is True and outcome.total == D("79.8")
    assert outcome.components == {"理论知识": D("88.5"), "操作技能": D("71")}
    assert (outcome.assessment_id, outcome.attempt_no, outcome.published_at) == (assessment.id, 1, NOW)
    absent = services.learner_outcome(b.id, cls.cohort)
    assert absent.passed is False and absent.total is None and absent.absent == {"操作技能"}
    assert absent.components == {"理论知识": D("70"), "操作技能": None}
    pending = services.learner_outcome(c.id, cls.cohort)
    assert pending.passed is None and pending.total is None and pending.status_label == "待定"
    assert set(services.cohort_outcomes(cls.cohort)) == {a.id, b.id, c.id}


def test_a_learner_without_any_mark_has_a_pending_outcome():
    cls = make_class(2)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("80", "80")})
    services.publish(assessment, actor=cls.instructor, now=NOW, allow_incomplete=True)
    outcome = services.learner_outcome(cls.learners[1].id, cls.cohort)
    assert outcome.passed is None and outcome.attempt_no == 1 and outcome.components == {"理论知识": None, "操作技能": None}


def test_cohort_outcomes_take_a_constant_number_of_queries():
    def measure(n: int) -> int:
        cls = make_class(n)
        assessment = make_assessment(cls)
        set_marks(assessment, {learner: ("80", "61") for learner in cls.learners})
        services.publish(assessment, actor=cls.instructor, now=NOW)
        db.session.expire_all()
        with count_queries() as statements:
            outcomes = services.cohort_outcomes(cls.cohort)
        assert len(outcomes) == n and all(o.passed for o in outcomes.values())
        return len(statements)

    assert measure(2) == measure(12)


# --- resits ----------------------------------------------------------------------------------

def _failed_class(policy: str = "best"):
    cls = make_class(3)
    assessment = make_assessment(cls, attempt_policy=policy)
    passed, failed, absent = cls.learners
    set_marks(assessment, {passed: ("80", "80"), failed: ("50", "80"), absent: ("缺考", "缺考")})
    services.publish(assessment, actor=cls.instructor, now=NOW)
    return cls, assessment


def test_only_failed_learners_can_be_given_a_resit():
    cls, assessment = _failed_class()
    passed, failed, absent = cls.learners
    assert [u.id for u, _ in services.resit_candidates(assessment)] == sorted([failed.id, absent.id],
                                                                             key=lambda i: db.session.get(
                                                                                 type(passed), i).name)
    with pytest.raises(ExamError, match="只有成绩不合格"):
        services.arrange_resit(assessment, [passed.id], actor=cls.instructor)
    resit = services.arrange_resit(assessment, [failed.id, absent.id], actor=cls.instructor)
    assert resit.is_resit and resit.resit_of_id == assessment.id and resit.title == "补考"
    assert [c.name for c in resit.components] == ["理论知识", "操作技能"]
    attempts = db.session.scalars(select(Attempt).where(Attempt.assessment_id == resit.id)).all()
    assert sorted((a.learner_id, a.attempt_no) for a in attempts) == sorted([(failed.id, 2), (absent.id, 2)])
    assert [r.learner.id for r in services.gradebook(resit, now=NOW)] == [a.learner_id for a in
                                                                          sorted(attempts, key=lambda a: a.id)]
    assert services.resit_candidates(assessment) == []  # both are waiting for their resit


def test_a_resit_needs_published_results_first():
    cls = make_class(1)
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("10", "10")})
    with pytest.raises(ExamError, match="请先发布"):
        services.arrange_resit(assessment, [cls.learners[0].id], actor=cls.instructor)


def test_an_unpublished_resit_does_not_count_yet():
    cls, assessment = _failed_class()
    failed = cls.learners[1]
    resit = services.arrange_resit(assessment, [failed.id], actor=cls.instructor)
    set_marks(resit, {failed: ("90", "90")})
    outcome = services.learner_outcome(failed.id, cls.cohort)
    assert outcome.passed is False and outcome.attempt_no == 1


def test_the_best_attempt_counts_when_the_assessment_says_best():
    cls, assessment = _failed_class("best")
    failed = cls.learners[1]
    resit = services.arrange_resit(assessment, [failed.id], actor=cls.instructor)
    set_marks(resit, {failed: ("65", "70")})
    services.publish(resit, actor=cls.instructor, now=NOW)
    outcome = services.learner_outcome(failed.id, cls.cohort)
    assert (outcome.passed, outcome.total, outcome.attempt_no, outcome.assessment_id) == (True, D("67.5"), 2, resit.id)
    # a second resit that goes worse does not take the pass away
    services.unpublish(resit, "补录", actor=cls.instructor, now=NOW)
    set_marks(resit, {failed: ("40", "70")}, reason="更正")
    services.publish(resit, actor=cls.instructor, now=NOW)
    outcome = services.learner_outcome(failed.id, cls.cohort)
    assert outcome.passed is False and outcome.attempt_no == 1  # both failed: the first had the higher total


def test_the_latest_attempt_counts_when_the_assessment_says_latest():
    cls, assessment = _failed_class("latest")
    failed = cls.learners[1]
    resit = services.arrange_resit(assessment, [failed.id], actor=cls.instructor)
    set_marks(resit, {failed: ("45", "60")})
    services.publish(resit, actor=cls.instructor, now=NOW)
    outcome = services.learner_outcome(failed.id, cls.cohort)
    assert (outcome.passed, outcome.attempt_no, outcome.components["理论知识"]) == (False, 2, D("45"))


def test_a_second_resit_is_attempt_three():
    cls, assessment = _failed_class()
    failed = cls.learners[1]
    first = services.arrange_resit(assessment, [failed.id], actor=cls.instructor)
    set_marks(first, {failed: ("55", "70")})
    services.publish(first, actor=cls.instructor, now=NOW)
    second = services.arrange_resit(first, [failed.id], actor=cls.instructor, title="第二次补考")
    assert second.id != first.id and second.resit_of_id == assessment.id
    attempt = db.session.scalar(select(Attempt).where(Attempt.assessment_id == second.id))
    assert attempt.attempt_no == 3


def test_the_original_cannot_be_withdrawn_while_a_resit_is_published():
    cls, assessment = _failed_class()
    failed = cls.learners[1]
    resit = services.arrange_resit(assessment, [failed.id], actor=cls.instructor)
    set_marks(resit, {failed: ("65", "70")})
    services.publish(resit, actor=cls.instructor, now=NOW)
    with pytest.raises(ExamError, match="先撤回补考"):
        services.unpublish(assessment, "改错", actor=cls.instructor, now=NOW)


def test_learner_results_show_every_published_attempt_and_which_counts():
    cls, assessment = _failed_class()
    failed = cls.learners[1]
    resit = services.arrange_resit(assessment, [failed.id], actor=cls.instructor)
    set_marks(resit, {failed: ("65", "70")})
    (group,) = services.learner_results(failed)
    assert [r.attempt_no for r in group.results] == [1]  # the resit is not published yet
    services.publish(resit, actor=cls.instructor, now=NOW)
    (group,) = services.learner_results(failed)
    assert [(r.attempt_no, r.counts, r.result.passed) for r in group.results] == [(2, True, True), (1, False, False)]
    assert group.outcome.passed is True


# --- statistics and export -------------------------------------------------------------------

def test_statistics_per_component_use_decimal_arithmetic():
    cls = make_class(4)
    assessment = make_assessment(cls)
    a, b, c, d = cls.learners
    set_marks(assessment, {a: ("52.5", "83"), b: ("61.5", "74"), c: ("75.5", "缺考"), d: ("74.5", None)})
    summary = stats.statistics(assessment, services.gradebook(assessment, now=NOW))
    theory, practical = summary.components
    assert (theory.mean, theory.median, theory.pass_rate, theory.marked, theory.absent) == (
        D("66.0"), D("68.0"), D("75.0"), 4, 0)
    assert (practical.mean, practical.median, practical.pass_rate, practical.absent) == (
        D("78.5"), D("78.5"), D("66.7"), 1)
    assert theory.bins[5] == 1 and theory.bins[6] == 1 and theory.bins[7] == 2
    assert (summary.passed, summary.failed, summary.pending, summary.pass_rate) == (1, 2, 1, D("33.3"))
    assert summary.total.mean == D("67.8")  # mean of 67.75 → 67.8 and 67.75 → 67.8: (67.8 + 67.8) / 2


def test_the_export_masks_personal_data_unless_full():
    cls = make_class(1, names=["王小磊"])
    cls.learners[0].id_number = "360702199001011234"
    assessment = make_assessment(cls)
    set_marks(assessment, {cls.learners[0]: ("88.5", "缺考")})
    rows = services.gradebook(assessment, now=NOW)
    headers, data = stats.results_table(assessment, rows, full=False)
    assert headers[:5] == ["序号", "姓名", "身份证号", "理论知识（满分100）", "操作技能（满分100）"]
    assert data[0][:5] == [1, "王*磊", "360702********1234", D("88.5"), "缺考"]
    assert data[0][5:8] == [None, "不合格（缺考）", 1]
    _, full = stats.results_table(assessment, rows, full=True)
    assert full[0][1:3] == ["王小磊", "360702199001011234"]


# --- demo ------------------------------------------------------------------------------------

def test_the_demo_publishes_finished_cohorts_and_leaves_a_running_sheet_unpublished():
    from academy.demo.loader import load_demo

    ctx = load_demo(now=NOW, steps=("academy.demo.base", "academy.exams.demo"))
    finished = ctx.cohorts_in("finished")
    outcomes = [o for cohort in finished for o in services.cohort_outcomes(cohort).values()]
    passed = sum(1 for o in outcomes if o.passed)
    failed = [o for o in outcomes if o.passed is False]
    assert passed > 3 * len(failed) > 0
    assert sum(1 for o in failed if o.absent) == 1
    assert any(o.passed and o.attempt_no == 2 for o in outcomes)  # the resit that passed
    assert services.learner_outcome(ctx.demo_learner.id, finished[-1]).passed is True
    running = services.cohort_assessments(ctx.cohorts_in("running")[0])
    assert len(running) == 1 and not running[0].is_published and services.mark_counts(running)[running[0].id] > 0
    reasons = {c.reason for c in db.session.scalars(select(ExamScoreChange)) if c.reason}
    assert reasons == {"理论试卷复核，第18题漏计2分"}
