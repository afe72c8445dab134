"""HTTP behaviour of the exam pages: gradebook, publication, export, history, resits, permissions."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from academy.audit.models import AuditEvent
from academy.exams import services
from academy.exams.models import Assessment, Attempt, ExamScore, ExamScoreChange
from academy.extensions import db
from tests.conftest import post
from tests.exams.builders import (
    NOW,
    component_ids,
    hold_sessions,
    make_assessment,
    make_class,
    set_marks,
    sign_in,
)
from tests.exams.test_services import count_queries
from tests.factories import make_instructor, make_learner

D = Decimal


def _setup(n: int = 3, **kwargs):
    cls = make_class(n, **kwargs)
    assessment = make_assessment(cls)
    db.session.commit()
    return cls, assessment


def _sheet(assessment: Assessment, values: dict, shown: dict | None = None, reason: str = "") -> dict:
    data = {"reason": reason}
    theory, practical = component_ids(assessment)
    for learner, (t, p) in values.items():
        data[f"m-{learner.id}-{theory}"] = t
        data[f"m-{learner.id}-{practical}"] = p
    for (lid, cid), text in (shown or {}).items():
        data[f"o-{lid}-{cid}"] = text
    return data


def test_the_cohort_page_offers_to_create_the_final_assessment(client):
    cls = make_class(1)
    db.session.commit()
    client = sign_in(client.application, cls.instructor)
    page = client.get(f"/exams/cohorts/{cls.cohort.id}").get_data(as_text=True)
    assert "新建结业考核" in page
    form = client.get(f"/exams/cohorts/{cls.cohort.id}/new").get_data(as_text=True)
    assert 'value="理论知识"' in form and 'value="操作技能"' in form
    response = post(client, f"/exams/cohorts/{cls.cohort.id}/new", {
        "title": "结业考核", "pass_rule": "weighted_total", "pass_mark": "60", "attempt_policy": "latest",
        "components-0-name": "理论知识", "components-0-max_points": "100", "components-0-pass_mark": "60",
        "components-0-weight": "30", "components-1-name": "操作技能", "components-1-max_points": "100",
        "components-1-pass_mark": "60", "components-1-weight": "70", "components-2-name": ""})
    assert response.status_code == 302
    assessment = db.session.scalar(select(Assessment))
    assert (assessment.pass_rule, assessment.attempt_policy) == ("weighted_total", "latest")
    assert [(c.name, c.weight) for c in assessment.components] == [("理论知识", D("30")), ("操作技能", D("70"))]


def test_settings_errors_are_shown_on_the_form(client):
    cls = make_class(1)
    db.session.commit()
    client = sign_in(client.application, cls.instructor)
    response = post(client, f"/exams/cohorts/{cls.cohort.id}/new", {
        "title": "结业考核", "pass_rule": "all_components", "pass_mark": "60", "attempt_policy": "best",
        "components-0-name": "理论知识", "components-0-max_points": "100", "components-0-pass_mark": "120",
        "components-0-weight": "50"})
    assert response.status_code == 200
    assert "及格分应在0到满分之间" in response.get_data(as_text=True)
    assert db.session.scalar(select(Assessment)) is None


def test_the_gradebook_lists_learners_with_column_wise_tab_order(client):
    cls, assessment = _setup(3, names=["甲一", "乙二", "丙三"])
    client = sign_in(client.application, cls.instructor)
    page = client.get(f"/exams/{assessment.id}/gradebook").get_data(as_text=True)
    theory, practical = component_ids(assessment)
    order = re.findall(r'name="m-(\d+)-(\d+)"[^>]*tabindex="(\d+)"', page)
    tab = {(int(lid), int(cid)): int(ti) for lid, cid, ti in order}
    a, b, c = cls.learners
    assert [tab[(a.id, theory)], tab[(b.id, theory)], tab[(c.id, theory)]] == [1, 2, 3]
    assert [tab[(a.id, practical)], tab[(b.id, practical)], tab[(c.id, practical)]] == [4, 5, 6]
    assert page.count('inputmode="decimal"') == 6
    assert "js/gradebook.js" in page and "<script>" not in page
    assert page.index("甲一") < page.index("乙二") < page.index("丙三")


def test_saving_the_sheet_stores_every_mark_in_one_request(client):
    cls, assessment = _setup(2)
    a, b = cls.learners
    client = sign_in(client.application, cls.instructor)
    response = post(client, f"/exams/{assessment.id}/gradebook",
                    _sheet(assessment, {a: ("８８．５", "90"), b: ("缺考", "59.5")}))
    assert response.status_code == 302
    rows = {r.learner.id: r for r in services.gradebook(assessment, now=NOW)}
    theory, practical = component_ids(assessment)
    assert rows[a.id].marks[theory].points == D("88.5") and rows[b.id].marks[theory].absent
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已保存，4 个成绩有变动" in page
    assert 'value="88.5"' in page and 'value="缺考"' in page and "89.3" in page  # 89.25 → 89.3


def test_a_wrong_cell_keeps_what_was_typed_shows_the_error_there_and_saves_nothing(client):
    cls, assessment = _setup(2)
    a, b = cls.learners
    client = sign_in(client.application, cls.instructor)
    response = post(client, f"/exams/{assessment.id}/gradebook",
                    _sheet(assessment, {a: ("77.5", "100.5"), b: ("8o", "66.3")}))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    theory, practical = component_ids(assessment)
    assert 'value="77.5"' in page and 'value="100.5"' in page and 'value="8o"' in page and 'value="66.3"' in page
    assert f'id="m-{a.id}-{practical}-err">超过满分100' in page
    assert f'id="m-{b.id}-{theory}-err">请填写数字' in page
    assert f'id="m-{b.id}-{practical}-err">分数只能是0.5的倍数' in page
    assert page.count('aria-invalid="true"') == 3
    assert "有 3 个格子需要修改" in page
    assert db.session.scalar(select(ExamScore.id)) is None


def test_after_publication_saving_without_a_reason_is_refused_on_the_reason_field(client):
    cls, assessment = _setup(1)
    (a,) = cls.learners
    set_marks(assessment, {a: ("58", "70")})
    services.publish(assessment, actor=cls.instructor, now=NOW)
    db.session.commit()
    client = sign_in(client.application, cls.instructor)
    response = post(client, f"/exams/{assessment.id}/gradebook", _sheet(assessment, {a: ("60", "70")}))
    assert response.status_code == 200 and "修改成绩必须填写原因" in response.get_data(as_text=True)
    response = post(client, f"/exams/{assessment.id}/gradebook",
                    _sheet(assessment, {a: ("60", "70")}, reason="复核后加2分"))
    assert response.status_code == 302
    change = db.session.scalars(select(ExamScoreChange).order_by(ExamScoreChange.id.desc())).first()
    assert (change.old_points, change.new_points, change.reason) == (D("58"), D("60"), "复核后加2分")
    history = client.get(f"/exams/{assessment.id}/history").get_data(as_text=True)
    assert "复核后加2分" in history and cls.instructor.name in history


def test_publish_and_unpublish_through_the_assessment_page(client):
    cls, assessment = _setup(1)
    set_marks(assessment, {cls.learners[0]: ("80", "80")})
    db.session.commit()
    client = sign_in(client.application, cls.instructor)
    assert post(client, f"/exams/{assessment.id}/publish").status_code == 302
    db.session.expire_all()
    assert assessment.is_published
    response = post(client, f"/exams/{assessment.id}/unpublish", {"reason": ""}, follow_redirects=True)
    assert "请填写撤回原因" in response.get_data(as_text=True)
    assert post(client, f"/exams/{assessment.id}/unpublish", {"reason": "录错了"}).status_code == 302
    db.session.expire_all()
    assert not assessment.is_published
    page = client.get(f"/exams/{assessment.id}").get_data(as_text=True)
    assert "录错了" in page and "发布记录" in page


def test_publishing_with_pending_results_asks_for_confirmation(client):
    cls, assessment = _setup(2)
    set_marks(assessment, {cls.learners[0]: ("80", "80")})
    db.session.commit()
    client = sign_in(client.application, cls.instructor)
    page = post(client, f"/exams/{assessment.id}/publish", follow_redirects=True).get_data(as_text=True)
    assert "还有 1 名学员的成绩没有录完" in page and "仍然发布" in page
    assert post(client, f"/exams/{assessment.id}/publish", {"allow_incomplete": "y"}).status_code == 302
    db.session.expire_all()
    assert assessment.is_published


def test_the_statistics_page_draws_histograms_as_inline_svg(client):
    cls, assessment = _setup(3)
    a, b, c = cls.learners
    set_marks(assessment, {a: ("52.5", "83"), b: ("61.5", "74"), c: ("75.5", "缺考")})
    db.session.commit()
    client = sign_in(client.application, cls.instructor)
    page = client.get(f"/exams/{assessment.id}").get_data(as_text=True)
    assert page.count("<svg") == 3 and "<rect" in page
    assert "63.2" in page  # theory mean (52.5 + 61.5 + 75.5) / 3 = 63.1666… → 63.2
    assert "66.7%" in page  # theory pass rate 2 of 3


def test_the_export_is_an_xlsx_with_decimal_scores_and_masked_ids(client):
    cls, assessment = _setup(1, names=["王小磊"])
    cls.learners[0].id_number = "360702199001011234"
    set_marks(assessment, {cls.learners[0]: ("88.5", "缺考")})
    db.session.commit()
    client = sign_in(client.application, cls.instructor)
    response = client.get(f"/exams/{assessment.id}/results.xlsx?full=1")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(response.data)).active
    row = [cell.value for cell in ws[2]]
    assert row[:5] == [1, "王*磊", "360702********1234", 88.5, "缺考"]  # full=1 is for admins only
    client = sign_in(client.application, cls.admin)
    ws = load_workbook(io.BytesIO(client.get(f"/exams/{assessment.id}/results.xlsx?full=1").data)).active
    assert ws["C2"].value == "360702199001011234" and ws["C2"].number_format == "@"
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "personal_data.unmasked"))


def test_staff_pages_are_forbidden_to_learners_and_other_instructors(client):
    cls, assessment = _setup(1)
    stranger = make_instructor()
    db.session.commit()
    urls = [f"/exams/cohorts/{cls.cohort.id}", f"/exams/{assessment.id}", f"/exams/{assessment.id}/gradebook",
            f"/exams/{assessment.id}/history", f"/exams/{assessment.id}/results.xlsx", f"/exams/{assessment.id}/import",
            f"/exams/{assessment.id}/resit", f"/exams/{assessment.id}/settings"]
    for user in (cls.learners[0], stranger):
        client = sign_in(client.application, user)
        for url in urls:
            assert client.get(url).status_code == 403, url
        assert post(client, f"/exams/{assessment.id}/gradebook", _sheet(assessment, {cls.learners[0]: ("99", "99")})
                    ).status_code == 403
        assert post(client, f"/exams/{assessment.id}/publish").status_code == 403
    assert db.session.scalar(select(ExamScore.id)) is None
    db.session.expire_all()
    assert not assessment.is_published
    client = sign_in(client.application, cls.admin)
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_admins_override_eligibility_with_a_reason_and_instructors_cannot(client):
    cls, assessment = _setup(1)
    (poor,) = cls.learners
    hold_sessions(cls, 5, attended={poor: 1})
    db.session.commit()
    client = sign_in(client.application, cls.instructor)
    page = client.get(f"/exams/{assessment.id}/gradebook").get_data(as_text=True)
    assert "出勤未达标" in page and "disabled" in page and "特批</a>" not in page
    url = f"/exams/cohorts/{cls.cohort.id}/eligibility/{poor.id}"
    assert client.get(url).status_code == 403
    client = sign_in(client.application, cls.admin)
    assert "特批</a>" in client.get(f"/exams/{assessment.id}/gradebook").get_data(as_text=True)
    assert "20%" in client.get(url).get_data(as_text=True)
    assert post(client, url, {"reason": ""}).status_code == 200
    assert post(client, url, {"reason": "住院，有医院证明"}).status_code == 302
    page = client.get(f"/exams/{assessment.id}/gradebook").get_data(as_text=True)
    assert "已特批" in page and "住院，有医院证明" in page


def test_a_resit_is_arranged_for_the_checked_failed_learners(client):
    cls, assessment = _setup(2)
    passed, failed = cls.learners
    set_marks(assessment, {passed: ("80", "80"), failed: ("40", "80")})
    services.publish(assessment, actor=cls.instructor, now=NOW)
    db.session.commit()
    client = sign_in(client.application, cls.instructor)
    page = client.get(f"/exams/{assessment.id}/resit").get_data(as_text=True)
    assert f'value="{failed.id}"' in page and f'value="{passed.id}"' not in page
    response = post(client, f"/exams/{assessment.id}/resit", {"title": "补考", "learner": str(failed.id)})
    assert response.status_code == 302
    resit = db.session.scalar(select(Assessment).where(Assessment.resit_of_id == assessment.id))
    sheet = client.get(response.headers["Location"]).get_data(as_text=True)
    assert failed.name in sheet and passed.name not in sheet and "第2次" in sheet
    assert resit.title == "补考"


def test_my_results_shows_only_published_results(client):
    cls, assessment = _setup(1)
    (learner,) = cls.learners
    set_marks(assessment, {learner: ("87.5", "93.5")})
    db.session.commit()
    client = sign_in(client.application, learner)
    page = client.get("/exams/my").get_data(as_text=True)
    assert "87.5" not in page and "合格" not in page and "还没有已发布的成绩" in page
    services.publish(assessment, actor=cls.instructor, now=NOW)
    db.session.commit()
    page = client.get("/exams/my").get_data(as_text=True)
    assert "87.5" in page and "93.5" in page and "90.5" in page and "合格" in page and "第1次考试" in page


def test_my_results_never_shows_another_learners_marks(client):
    cls, assessment = _setup(2)
    me, other = cls.learners
    set_marks(assessment, {me: ("70", "71"), other: ("97.5", "98.5")})
    services.publish(assessment, actor=cls.instructor, now=NOW)
    db.session.commit()
    client = sign_in(client.application, me)
    page = client.get("/exams/my").get_data(as_text=True)
    assert "70" in page and "97.5" not in page and "98.5" not in page


def test_the_gradebook_and_statistics_pages_do_not_query_per_learner(client):
    def measure(n: int) -> tuple[int, int]:
        cls, assessment = _setup(n)
        set_marks(assessment, {learner: ("80", "70") for learner in cls.learners})
        db.session.commit()
        web = sign_in(client.application, cls.instructor)
        counts = []
        for url in (f"/exams/{assessment.id}/gradebook", f"/exams/{assessment.id}"):
            with count_queries() as statements:
                assert web.get(url).status_code == 200
            counts.append(len(statements))
        return tuple(counts)

    assert measure(2) == measure(15)


def test_saving_a_sheet_issues_the_same_queries_for_2_or_15_learners(client):
    def measure(n: int) -> tuple[int, int]:
        cls, assessment = _setup(n)
        theory, practical = component_ids(assessment)
        web = sign_in(client.application, cls.instructor)
        url = f"/exams/{assessment.id}/gradebook"
        sheet = _sheet(assessment, {x: ("80", "70") for x in cls.learners})
        with count_queries() as first:  # an empty sheet: every learner gets an attempt and two marks
            assert post(web, url, sheet).status_code == 302
        shown = {(x.id, cid): text for x in cls.learners for cid, text in ((theory, "80"), (practical, "70"))}
        sheet = _sheet(assessment, {x: ("缺考" if i % 2 else "81", "") for i, x in enumerate(cls.learners)}, shown)
        with count_queries() as second:  # every theory mark changed (points or 缺考), every practical one cleared
            assert post(web, url, sheet).status_code == 302
        assert db.session.scalar(select(func.count()).select_from(ExamScoreChange).join(Attempt).where(
            Attempt.assessment_id == assessment.id)) == 4 * n
        return len(first), len(second)

    small, large = measure(2), measure(15)
    assert small == large and large[0] <= 25, (small, large)


def test_learners_get_no_staff_link_data_when_not_enrolled(client):
    outsider = make_learner()
    db.session.commit()
    client = sign_in(client.application, outsider)
    assert client.get("/exams/my").status_code == 200


def test_settings_can_change_weights_and_rule_before_publication_only(client):
    cls, assessment = _setup(1)
    client = sign_in(client.application, cls.instructor)
    page = client.get(f"/exams/{assessment.id}/settings").get_data(as_text=True)
    assert 'value="理论知识"' in page and 'value="操作技能"' in page
    data = {"title": "结业考核", "pass_rule": "weighted_total", "pass_mark": "60", "attempt_policy": "best",
            "components-0-name": "理论知识", "components-0-max_points": "100", "components-0-pass_mark": "60",
            "components-0-weight": "30", "components-1-name": "操作技能", "components-1-max_points": "100",
            "components-1-pass_mark": "60", "components-1-weight": "70"}
    assert post(client, f"/exams/{assessment.id}/settings", data).status_code == 302
    db.session.expire_all()
    assert assessment.pass_rule == "weighted_total" and [c.weight for c in assessment.components] == [D("30"), D("70")]
    services.publish(assessment, actor=cls.instructor, now=NOW, allow_incomplete=True)
    db.session.commit()
    response = post(client, f"/exams/{assessment.id}/settings", data | {"components-0-weight": "50"})
    assert response.status_code == 200 and "请先撤回发布" in response.get_data(as_text=True)


def test_the_import_page_explains_the_columns(client):
    cls, assessment = _setup(1)
    client = sign_in(client.application, cls.instructor)
    page = client.get(f"/exams/{assessment.id}/import").get_data(as_text=True)
    assert "理论知识（满分100）" in page and 'type="file"' in page
