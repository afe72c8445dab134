"""Competition pages over HTTP: contestants, administrators, judges, the public board."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from academy.audit.models import AuditEvent
from academy.competitions import judging, marking, registration, results, services
from academy.competitions.models import Edition, Entry, EntryStatus, Event, EventStatus
from academy.extensions import db
from tests.competitions.builders import (
    NOW,
    full_marks,
    make_event,
    make_judge,
    make_rider,
    ready_event,
    score_everything,
)
from tests.conftest import login, post, shared_file
from tests.factories import make_admin, make_instructor, make_learner


def send(client, url: str, data: dict | None = None, **kwargs):
    return post(client, url, data, **kwargs)


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:400])
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    login(client, user)
    return client


# --- contestants ----------------------------------------------------------------------------

def test_a_learner_registers_from_the_event_page_and_sees_the_entry(app):
    event = make_event(approval_required=False, registration_opens_at=None, registration_closes_at=None)
    rider = make_rider()
    db.session.commit()
    client = signed_in(app, rider)
    html = page(client, f"/competitions/events/{event.public_code}")
    assert "我要报名" in html and "理论知识 30% + 操作技能 70%" in html
    response = send(client, f"/competitions/events/{event.public_code}/register")
    assert response.status_code == 302 and response.headers["Location"].endswith("/competitions/my")
    html = page(client, "/competitions/my")
    assert event.name in html and "已通过" in html


def test_the_event_page_lists_why_a_learner_cannot_register(app):
    event = make_event(eligible_groups=("外卖员",), registration_opens_at=None, registration_closes_at=None)
    learner = make_learner(occupation_group="货车司机")
    db.session.commit()
    client = signed_in(app, learner)
    html = page(client, f"/competitions/events/{event.public_code}")
    assert "暂时不能报名" in html and "请先在“我的资料”中填写身份证号" in html and "本赛项只接受外卖员报名" in html
    response = send(client, f"/competitions/events/{event.public_code}/register")
    assert response.status_code == 302
    assert db.session.scalar(select(Entry)) is None


def test_a_learner_withdraws_only_their_own_registration(app):
    event = make_event(registration_opens_at=None, registration_closes_at=None)
    rider, other = make_rider(), make_rider()
    entry = registration.register(rider, event, now=NOW)
    db.session.commit()
    assert send(signed_in(app, other), f"/competitions/entries/{entry.code}/withdraw").status_code == 404
    assert send(signed_in(app, rider), f"/competitions/entries/{entry.code}/withdraw").status_code == 302
    db.session.refresh(entry)
    assert entry.status == EntryStatus.WITHDRAWN


def test_results_appear_in_my_entries_only_after_publication(app):
    event, admin, team, entries = ready_event(contestants=2)
    score_everything(event, team, entries, admin)
    judging.lock_scores(event, actor=team[0], now=NOW)
    db.session.commit()
    client = signed_in(app, entries[0].learner)
    html = page(client, "/competitions/my")
    assert "成绩复核中" in html and "总成绩" not in html
    results.publish(event, actor=admin, now=NOW)
    db.session.commit()
    html = page(client, "/competitions/my")
    assert "第 1 名" in html and "94.00" in html and "一等奖" in html


# --- the public board -----------------------------------------------------------------------

def test_the_public_board_shows_masked_names_only_after_publication(app, client):
    event, admin, team, entries = ready_event(contestants=3)
    score_everything(event, team, entries, admin)
    judging.lock_scores(event, actor=team[0], now=NOW)
    db.session.commit()
    names = [e.learner.name for e in entries]
    html = page(client, f"/competitions/events/{event.public_code}/results")
    assert "成绩尚未公布" in html and not any(n in html for n in names)
    results.publish(event, actor=admin, now=NOW)
    db.session.commit()
    html = page(client, f"/competitions/events/{event.public_code}/results")
    assert not any(n in html for n in names)  # masked
    assert "学*" in html and "美团" in html and "94.00" in html and "一等奖" in html
    assert "学*" in page(client, f"/competitions/events/{event.id}/results")  # the id works too
    page(client, "/competitions/events/nope/results", 404)


# --- administrators -------------------------------------------------------------------------

def test_an_administrator_sets_up_an_edition_and_an_event_through_the_forms(app):
    admin = make_admin()
    db.session.commit()
    client = signed_in(app, admin)
    response = send(client, "/competitions/manage/editions/new", {"name": "2026年“虔能杯”快递员职业技能竞赛",
                                                                  "year": "2026", "precision": "2"})
    assert response.status_code == 302
    edition = db.session.scalar(select(Edition))
    html = page(client, f"/competitions/manage/editions/{edition.id}/events/new")
    assert 'value="theory"' in html and 'value="practical"' in html and "操作技能高者优先" in html
    form = {"name": "快递员", "occupation": "快递员", "capacity": "60", "approval_required": "y",
            "shared_ranks": "y", "award_mode": "counts", "eligible_groups": ["快递员"],
            "components-0-code": "theory", "components-0-name": "理论知识", "components-0-weight": "30",
            "components-0-max_score": "100", "components-0-source": "entered",
            "components-1-code": "practical", "components-1-name": "操作技能", "components-1-weight": "60",
            "components-1-max_score": "100", "components-1-source": "scheme",
            "tie_breaks-0": "practical:desc", "tie_breaks-1": "time:asc",
            "awards-0-name": "一等奖", "awards-0-count": "1", "awards-0-title": "技术能手",
            "awards-1-name": "优胜奖", "awards-1-count": "3"}
    html = send(client, f"/competitions/manage/editions/{edition.id}/events/new", form).get_data(as_text=True)
    assert "各科目权重之和应为 100%，现在是 90%" in html
    form["components-1-weight"] = "70"
    response = send(client, f"/competitions/manage/editions/{edition.id}/events/new", form)
    assert response.status_code == 302
    event = db.session.scalar(select(Event))
    assert event.eligible_groups == ["快递员"] and event.tie_breaks == ["practical:desc", "time:asc"]
    assert [(a.name, a.count, a.title) for a in event.award_rules] == [("一等奖", 1, "技术能手"), ("优胜奖", 3, None)]
    html = page(client, f"/competitions/manage/events/{event.id}")
    assert "还没有操作技能的评分标准" in html
    assert send(client, f"/competitions/manage/events/{event.id}/status", {"status": "registration"}).status_code == 302
    db.session.refresh(event)
    assert event.status == EventStatus.REGISTRATION
    html = page(client, f"/competitions/manage/events/{event.id}/edit")
    assert 'value="70.00"' in html or 'value="70"' in html


def test_an_administrator_imports_the_registration_list_and_the_marking_scheme(app):
    admin = make_admin()
    event = make_event(admin=admin)
    db.session.commit()
    client = signed_in(app, admin)
    path = shared_file("contest-rider-registrations.xlsx")
    with path.open("rb") as fh:
        html = send(client, f"/competitions/manage/events/{event.id}/import",
                    {"file": (fh, path.name), "with_scores": "y", "component": "theory", "occupation_group": "外卖员",
                     "dry_run": "y"}, content_type="multipart/form-data").get_data(as_text=True)
    assert "检查结果（未导入）" in html and "新建学员账号 63 个" in html
    assert db.session.scalar(select(Entry)) is None
    with path.open("rb") as fh:
        html = send(client, f"/competitions/manage/events/{event.id}/import",
                    {"file": (fh, path.name), "with_scores": "y", "component": "theory"},
                    content_type="multipart/form-data").get_data(as_text=True)
    assert "导入完成" in html and "写入成绩 63 个" in html
    html = page(client, f"/competitions/manage/events/{event.id}/entries")
    assert "司马睿军" in html and "360781********4719" in html and "360781197508224719" not in html
    path = shared_file("contest-rider-marking-scheme.xlsx")
    with path.open("rb") as fh:
        response = send(client, f"/competitions/manage/events/{event.id}/scheme/import",
                        {"file": (fh, path.name)}, content_type="multipart/form-data")
    assert response.status_code == 302
    html = page(client, f"/competitions/manage/events/{event.id}/scheme")
    assert "合计 100 分" in html and "C1 蛇形绕桩" in html and "评价" in html
    html = page(client, f"/competitions/manage/events/{event.id}/scores/theory")
    assert 'value="89.5"' in html


def test_import_errors_are_listed_per_row_and_nothing_is_imported(app):
    from academy.common.spreadsheets import build_xlsx

    admin = make_admin()
    event = make_event(admin=admin)
    db.session.commit()
    data = build_xlsx([("报名表", ["姓名", "身份证号", "手机号"], [["张三", "123", "13800000000"]])])
    html = send(signed_in(app, admin), f"/competitions/manage/events/{event.id}/import",
                {"file": (io.BytesIO(data), "list.xlsx")}, content_type="multipart/form-data").get_data(as_text=True)
    assert "第 2 行，身份证号：身份证号应为18位，现在是3位" in html and "没有导入任何数据" in html


def test_the_draw_check_in_and_scheme_pages_work_for_administrators(app):
    admin = make_admin()
    event = make_event(admin=admin)
    riders = [make_rider() for _ in range(3)]
    for rider in riders:
        registration.add_entry(rider, event, actor=admin, now=NOW)
    services.set_status(event, EventStatus.CONTEST, actor=admin)
    db.session.commit()
    client = signed_in(app, admin)
    assert send(client, f"/competitions/manage/events/{event.id}/draw", {"seed": "公开抽签2026"}).status_code == 302
    db.session.refresh(event)
    assert event.draw_seed == "公开抽签2026"
    assert "公开抽签2026" in page(client, f"/competitions/manage/events/{event.id}")
    html = send(client, f"/competitions/manage/events/{event.id}/check-in",
                {"id_number": riders[0].id_number[-6:]}).get_data(as_text=True)
    assert "检录成功" in html and riders[0].name in html
    html = send(client, f"/competitions/manage/events/{event.id}/check-in",
                {"id_number": riders[0].id_number}).get_data(as_text=True)
    assert "已于" in html and "检录" in html
    assert "已检录 1 / 3" in html


def test_judges_are_assigned_and_recusals_recorded_by_an_administrator(app):
    event, admin, team, entries = ready_event(contestants=2, judges=1)
    other = make_judge(name="刘裁判")
    db.session.commit()
    client = signed_in(app, admin)
    response = send(client, f"/competitions/manage/events/{event.id}/judges",
                    {"judge_id": str(other.id), "marks": "y"})
    assert response.status_code == 302
    html = send(client, f"/competitions/manage/events/{event.id}/recusals",
                {"judge_id": str(other.id), "entry_id": str(entries[0].id), "relation": "亲属", "reason": "夫妻"},
                follow_redirects=True).get_data(as_text=True)
    assert "回避已登记" in html and "夫妻" in html
    assert judging.judge_board(event, other)[0].recused


def test_publication_export_and_the_results_page(app):
    event, admin, team, entries = ready_event(contestants=2, judges=2)
    score_everything(event, team, entries, admin)
    db.session.commit()
    client = signed_in(app, admin)
    html = page(client, f"/competitions/manage/events/{event.id}/results")
    assert "裁判长还没有锁定成绩" in html and "公布成绩" not in html
    judging.lock_scores(event, actor=team[0], now=NOW)
    db.session.commit()
    html = page(client, f"/competitions/manage/events/{event.id}/results")
    assert entries[0].learner.name in html and "公布成绩" in html
    assert send(client, f"/competitions/manage/events/{event.id}/publish").status_code == 302
    db.session.refresh(event)
    assert event.published_at is not None
    response = client.get(f"/competitions/manage/events/{event.id}/export.xlsx?full=1")
    book = load_workbook(io.BytesIO(response.data))
    assert book["成绩总表"]["D2"].value in {e.learner.id_number for e in entries}
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "personal_data.unmasked"))


def test_the_administrator_downloads_the_winners_award_certificates_as_one_pdf(app):
    event, admin, team, entries = ready_event(contestants=2)
    score_everything(event, team, entries, admin)
    judging.lock_scores(event, actor=team[0], now=NOW)
    results.publish(event, actor=admin, now=NOW)
    db.session.commit()
    response = send(signed_in(app, admin), f"/competitions/manage/events/{event.id}/certificates")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


# --- judges ---------------------------------------------------------------------------------

def test_a_judge_scores_a_contestant_by_number_with_drafts_and_validation(app):
    event, admin, team, entries = ready_event(contestants=2)
    db.session.commit()
    judge, entry = team[0], entries[0]
    client = signed_in(app, judge)
    html = page(client, "/competitions/")
    assert event.name in html and "进入评分" in html
    assert "我执裁的赛项" in page(client, "/competitions/my")  # the judges' way in from “我的”
    html = page(client, f"/competitions/judge/events/{event.id}")
    assert entry.number_label in html and f"/sheets/{entry.code}" in html
    aspects = marking.scheme_aspects(event)
    url = f"/competitions/judge/events/{event.id}/sheets/{entry.code}"
    response = send(client, url, {f"a-{aspects[0].id}": "9.3", "action": "draft"})
    assert response.status_code == 422 and "分数以 0.5 分为单位" in response.get_data(as_text=True)
    response = send(client, url, {f"a-{aspects[0].id}": "19.5", "action": "draft"})
    assert response.status_code == 302
    assert 'value="19.5"' in page(client, url)
    values = {f"a-{k}": v for k, v in full_marks(event).items()}
    response = send(client, url, {**values, "action": "submit"})
    assert response.status_code == 302
    assert "已提交" in page(client, f"/competitions/judge/events/{event.id}")


def test_a_judge_declares_a_recusal_and_the_sheet_is_closed_to_them(app):
    event, admin, team, entries = ready_event(contestants=2, judges=2)
    db.session.commit()
    judge, entry = team[1], entries[1]
    client = signed_in(app, judge)
    url = f"/competitions/judge/events/{event.id}/sheets/{entry.code}"
    response = send(client, url + "/recuse", {"relation": "同单位", "reason": "同一站点的同事"})
    assert response.status_code == 302
    response = client.get(url)
    assert response.status_code == 302  # back to the list with the reason
    assert "已回避" in page(client, f"/competitions/judge/events/{event.id}")
    values = {f"a-{k}": v for k, v in full_marks(event).items()}
    send(client, url, {**values, "action": "submit"})
    assert db.session.scalar(select(Entry).where(Entry.id == entry.id)) is not None
    assert not judging.progress(event).rows[1].cells[judge.id].status == "submitted"


def test_judges_reach_only_their_own_events(app):
    event, admin, team, entries = ready_event(contestants=1)
    stranger = make_judge()
    db.session.commit()
    client = signed_in(app, stranger)
    html = page(client, "/competitions/")
    assert "您还没有被指派到任何赛项" in html and f"/judge/events/{event.id}" not in html
    page(client, f"/competitions/judge/events/{event.id}", 403)
    page(client, f"/competitions/judge/events/{event.id}/sheets/{entries[0].code}", 403)
    page(client, f"/competitions/judge/events/{event.id}/progress", 403)
    page(client, f"/competitions/manage/events/{event.id}", 403)
    ordinary = signed_in(app, team[0])
    page(ordinary, f"/competitions/judge/events/{event.id}/sheets/nope", 404)


def test_the_chief_judge_checks_progress_locks_and_unlocks_with_a_reason(app):
    event, admin, team, entries = ready_event(contestants=2, judges=2)
    db.session.commit()
    chief = signed_in(app, team[0])
    html = page(chief, f"/competitions/judge/events/{event.id}/progress")
    assert "未评" in html and "理论知识未录入" in html
    send(chief, f"/competitions/judge/events/{event.id}/lock")
    db.session.refresh(event)
    assert event.locked_at is None
    page(signed_in(app, team[1]), f"/competitions/judge/events/{event.id}/progress", 403)
    score_everything(event, team, entries, admin)
    db.session.commit()
    assert "✓ 已提交" in page(chief, f"/competitions/judge/events/{event.id}/progress")
    send(chief, f"/competitions/judge/events/{event.id}/lock")
    db.session.refresh(event)
    assert event.locked_at is not None
    send(chief, f"/competitions/judge/events/{event.id}/unlock", {"reason": ""})
    db.session.refresh(event)
    assert event.locked_at is not None
    send(chief, f"/competitions/judge/events/{event.id}/unlock", {"reason": "核对C1测量记录"})
    db.session.refresh(event)
    assert event.locked_at is None
    response = send(chief, f"/competitions/judge/events/{event.id}/times", {f"t-{entries[0].code}": "12:34"})
    assert response.status_code == 302
    db.session.refresh(entries[0])
    assert entries[0].time_used_seconds == 754


def test_instructors_see_editions_read_only(app):
    event = make_event()
    instructor = make_instructor()
    db.session.commit()
    client = signed_in(app, instructor)
    html = page(client, "/competitions/")
    assert event.name in html and "/manage/" not in html


# --- anonymity ------------------------------------------------------------------------------

SECRET_NAMES = ("欧阳娜娜", "司徒振宇", "买买提·艾力")
SECRET_PLATFORM = "闪电侠同城配送"


def _secret_contest():
    """An event with three contestants whose personal data is easy to search for in a page."""
    from academy.accounts.models import Role, User, UserRole
    from tests.factories import valid_id_number

    admin = make_admin()
    event = make_event(admin=admin)
    from tests.competitions.builders import add_scheme

    add_scheme(event, admin=admin)
    people = []
    for i, name in enumerate(SECRET_NAMES):
        user = User(id=880101 + i, mobile=f"1770000{i:04d}", name=name, id_number=valid_id_number(4400 + i),
                    platform=SECRET_PLATFORM, district="寻乌县", occupation_group="外卖员")
        user.roles.append(UserRole(role=Role.LEARNER))
        db.session.add(user)
        db.session.flush()
        entry = Entry(id=770101 + i, event_id=event.id, learner_id=user.id, code=registration._new_entry_code(),
                      status=EntryStatus.APPROVED, platform=SECRET_PLATFORM, district="寻乌县", applied_at=NOW)
        db.session.add(entry)
        people.append((user, entry))
    chief, judge = make_judge(), make_judge()
    services.assign_judge(event, chief, is_chief=True, actor=admin)
    services.assign_judge(event, judge, actor=admin)
    services.set_status(event, EventStatus.CONTEST, actor=admin)
    registration.draw(event, actor=admin, now=NOW)
    for user, _ in people:
        registration.check_in(event, user.id_number, actor=admin, now=NOW)
    db.session.commit()
    return event, admin, (chief, judge), people


def _secrets(people) -> list[str]:
    from academy.common.masking import mask_id_number, mask_name, mask_phone

    found = [SECRET_PLATFORM]
    for user, entry in people:
        found += [user.name, mask_name(user.name), user.id_number, user.id_number[-6:], mask_id_number(user.id_number),
                  user.mobile, mask_phone(user.mobile), str(user.id), str(entry.id)]
    return found


def _judge_urls(app, event, people) -> list[str]:
    """Every GET route a judge may use, filled with this event's values."""
    from academy.accounts.permissions import LOGGED_IN, PUBLIC

    urls = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        access = getattr(view, "access", None)
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if not (access in (PUBLIC, LOGGED_IN) or "judge" in access):
            continue
        args = set(rule.arguments)
        if not args:
            urls.append(rule.rule)
        elif rule.endpoint.startswith("competitions."):
            if args == {"code"}:
                urls.append(rule.rule.replace("<code>", event.public_code))
            elif args == {"event_id"}:
                urls.append(rule.rule.replace("<int:event_id>", str(event.id)))
            elif args == {"event_id", "code"}:
                for _, entry in people:
                    urls.append(rule.rule.replace("<int:event_id>", str(event.id)).replace("<code>", entry.code))
    return urls


def _assert_anonymous(app, clients, urls, secrets):
    assert any("/sheets/" in u for u in urls) and any("/progress" in u for u in urls)
    for client in clients:
        for url in urls:
            response = client.get(url, follow_redirects=True)
            body = response.get_data(as_text=True)
            leaks = [s for s in secrets if s in body or s in response.request.path]
            assert leaks == [], f"{url} shows {leaks}"


def test_judges_never_receive_a_contestants_name_id_or_platform_before_publication(app):
    event, admin, (chief, judge), people = _secret_contest()
    secrets = _secrets(people)
    urls = _judge_urls(app, event, people)
    clients = [signed_in(app, chief), signed_in(app, judge)]
    _assert_anonymous(app, clients, urls, secrets)  # nothing scored yet
    aspects = marking.scheme_aspects(event)
    sheet_url = f"/competitions/judge/events/{event.id}/sheets/{people[0][1].code}"
    bad = send(clients[1], sheet_url, {f"a-{aspects[0].id}": "99", "action": "draft"}).get_data(as_text=True)
    assert not [s for s in secrets if s in bad]
    for _, entry in people[:2]:
        send(clients[1], f"/competitions/judge/events/{event.id}/sheets/{entry.code}",
             {**{f"a-{k}": v for k, v in full_marks(event).items()}, "action": "submit"})
    send(clients[0], f"/competitions/judge/events/{event.id}/sheets/{people[2][1].code}/recuse",
         {"relation": "亲属", "reason": "堂兄"})
    _assert_anonymous(app, clients, urls, secrets)  # drafts, submissions and a recusal
    for _, entry in people:
        for j in (chief, judge):
            if entry.id not in services.recused_entry_ids(event, j):
                judging.save_sheet(event, j, entry, full_marks(event), submit=True, now=NOW)
        judging.set_component_score(entry, event.component("theory"), Decimal(80), actor=admin, now=NOW)
    judging.lock_scores(event, actor=chief, now=NOW)
    db.session.commit()
    _assert_anonymous(app, clients, urls, secrets)  # locked, not yet published
    # the board is public: once published it shows masked names (and still no ID or user id)
    results.publish(event, actor=admin, now=NOW)
    db.session.commit()
    board = page(app.test_client(), f"/competitions/events/{event.public_code}/results")
    assert "欧**娜" in board and "欧阳娜娜" not in board and people[0][0].id_number not in board
    # publication reveals (masked) names beside the numbers on the judges' list too
    assert "欧**娜" in page(clients[1], f"/competitions/judge/events/{event.id}")


# --- no N+1 queries -------------------------------------------------------------------------

def _queries(client, url: str) -> int:
    from sqlalchemy import event as sa_event

    count = 0

    def counter(*args, **kwargs):
        nonlocal count
        count += 1

    sa_event.listen(db.engine, "before_cursor_execute", counter)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", counter)
    return count


def _published(app, contestants: int):
    event, admin, team, entries = ready_event(contestants=contestants, judges=2)
    score_everything(event, team, entries, admin)
    judging.lock_scores(event, actor=team[0], now=NOW)
    results.publish(event, actor=admin, now=NOW)
    db.session.commit()
    return event, admin, team


def test_pages_load_what_they_need_whatever_the_number_of_contestants(app):
    small, admin, team = _published(app, 2)
    big, admin2, team2 = _published(app, 9)
    counts = {}
    for label, (event, staff, judges) in {"small": (small, admin, team), "big": (big, admin2, team2)}.items():
        public, chief, manager = app.test_client(), signed_in(app, judges[0]), signed_in(app, staff)
        counts[label] = [
            _queries(public, f"/competitions/events/{event.public_code}/results"),
            _queries(chief, f"/competitions/judge/events/{event.id}"),
            _queries(chief, f"/competitions/judge/events/{event.id}/progress"),
            _queries(manager, f"/competitions/manage/events/{event.id}/entries"),
            _queries(manager, f"/competitions/manage/events/{event.id}/results"),
        ]
    assert counts["small"] == counts["big"]
