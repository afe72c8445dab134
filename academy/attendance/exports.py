"""Spreadsheet exports of attendance (through ``common.spreadsheets.build_xlsx``).

* The cohort register (签到表): learners × sessions with the paper codes √ 迟 假 ×, totals per
  learner and per session, the rate and whether it meets the threshold — the sheet a subsidy
  office asks for — plus a sheet of sessions and a legend.
* One session's list: every enrolled learner with status, check-in time, how it was set, note.

Names, phones and ID numbers are masked unless ``full`` (administrators only; the view audits it).
"""

from __future__ import annotations

from academy.attendance.models import (
    SOURCE_ZH,
    STATUS_CODES,
    STATUS_ZH,
    AttendanceStatus,
    ClassSession,
    RecordSource,
)
from academy.attendance.queries import Grid, Register
from academy.attendance.services import percent
from academy.catalogue.models import ExcusedPolicy
from academy.common.masking import mask_id_number, mask_name, mask_phone
from academy.common.spreadsheets import build_xlsx
from academy.common.timeutil import format_local

TEXT_COLUMNS = ("身份证号", "手机号")
POLICY_TEXT = {
    ExcusedPolicy.EXCLUDE: "请假的课次不计入应到课次",
    ExcusedPolicy.ABSENT: "请假按缺勤计算",
    ExcusedPolicy.PRESENT: "请假按出勤计算",
}


def _person(user, full: bool) -> list[str]:
    if full:
        return [user.name, user.mobile, user.id_number or ""]
    return [mask_name(user.name), mask_phone(user.mobile), mask_id_number(user.id_number)]


def cohort_register_xlsx(grid: Grid, *, full: bool = False) -> bytes:
    """The cohort's register as .xlsx bytes (sheets 签到表, 课次, 说明)."""
    sessions = grid.sessions
    session_headers = [f"第{n}次 {s.local_day:%m-%d}" for n, s in enumerate(sessions, start=1)]
    headers = (["序号", "姓名", "手机号", "身份证号"] + session_headers
               + ["出勤", "迟到", "请假", "缺勤", "应到课次", "出勤率", "是否达标"])
    rows: list[list[object]] = []
    attended_per_session = [0] * len(sessions)
    for i, learner in enumerate(grid.learners, start=1):
        cells = []
        for j, session in enumerate(sessions):
            status = grid.cell(learner.id, session)
            cells.append(STATUS_CODES[AttendanceStatus(status)] if status else "")
            if status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
                attended_per_session[j] += 1
        rate = grid.rates[learner.id]
        verdict = "—" if rate.rate is None else ("达标" if rate.meets_threshold else "未达标")
        rows.append([i, *_person(learner, full), *cells, rate.present, rate.late, rate.excused, rate.absent,
                     rate.held, percent(rate.rate), verdict])
    rows.append(["", "实到人数", "", "", *attended_per_session, "", "", "", "", "", "", ""])
    session_rows = [[n, s.day_text, s.time_text, s.place or "", s.topic or "", attended_per_session[n - 1],
                     len(grid.learners)] for n, s in enumerate(sessions, start=1)]
    threshold = percent(grid.cohort.attendance_threshold)
    legend = [["√", "出勤"], ["迟", "迟到（仍计入出勤）"], ["假", "请假"], ["×", "缺勤（含未签到）"],
              ["空白", "还没上的课"],
              ["出勤率", f"（出勤 + 迟到）÷ 应到课次；{POLICY_TEXT[ExcusedPolicy(grid.cohort.excused_policy)]}"],
              ["达标线", threshold], ["班级", f"{grid.cohort.name}（{grid.cohort.code}）"],
              ["导出时间", format_local(grid.now)]]
    return build_xlsx([
        ("签到表", headers, rows),
        ("课次", ["序号", "日期", "时间", "地点", "内容", "实到人数", "应到人数"], session_rows),
        ("说明", ["项目", "说明"], legend),
    ], text_columns=TEXT_COLUMNS)


def session_list_xlsx(session: ClassSession, number: int | None, register: Register, *, full: bool = False) -> bytes:
    """One session's list as .xlsx bytes: learner, status, check-in time, how, note."""
    headers = ["序号", "姓名", "手机号", "身份证号", "状态", "签到时间", "记录方式", "备注"]
    rows = []
    for i, row in enumerate(register.rows, start=1):
        rec = row.record
        rows.append([i, *_person(row.learner, full),
                     STATUS_ZH[AttendanceStatus(rec.status)] if rec else "未记录",
                     format_local(rec.checked_in_at, "%Y-%m-%d %H:%M:%S") if rec and rec.checked_in_at else "",
                     SOURCE_ZH[RecordSource(rec.source)] if rec else "", (rec.note or "") if rec else ""])
    title = f"第{number}次 {session.local_day:%m-%d}" if number else f"{session.local_day:%m-%d}"
    return build_xlsx([(title, headers, rows)], text_columns=TEXT_COLUMNS)
