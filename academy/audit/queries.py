"""Reading the audit log: filters shared by the page and the export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, select

from academy.accounts.models import User
from academy.audit.models import AuditEvent
from academy.common.timeutil import local_zone

# Groups of actions an administrator filters by (prefix match on ``action``).
ACTION_GROUPS = {
    "auth": "登录与密码",
    "account": "账号与角色",
    "personal_data": "查看完整个人信息",
    "roster": "花名册导入",
    "courses": "课程导入",
    "enrolment": "报名",
    "cohort": "班级",
    "attendance": "考勤",
    "exams": "成绩",
    "score": "成绩修改",
    "certificate": "证书",
    "degree": "学历提升",
    "competition": "竞赛",
}


@dataclass
class AuditFilter:
    """Filters of the audit log; dates are local (Asia/Shanghai) calendar days, inclusive."""

    group: str = ""
    actor: str = ""  # mobile number or name, exact
    date_from: date | None = None
    date_to: date | None = None

    def statement(self) -> Select:
        """SELECT of matching events (actor joined eagerly), newest first."""
        stmt = select(AuditEvent)
        if self.actor:
            stmt = stmt.join(User, User.id == AuditEvent.actor_id)
        if self.group:
            stmt = stmt.where(AuditEvent.action.startswith(self.group + "."))
        if self.actor:
            stmt = stmt.where((User.mobile == self.actor) | (User.name == self.actor))
        zone = local_zone()
        if self.date_from:
            stmt = stmt.where(AuditEvent.at >= datetime.combine(self.date_from, time(0), tzinfo=zone))
        if self.date_to:
            stmt = stmt.where(AuditEvent.at < datetime.combine(self.date_to + timedelta(days=1), time(0), tzinfo=zone))
        return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
