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


# What an administrator reads for the most frequent actions; others show their code.
ACTION_LABELS = {
    "auth.login": "登录", "auth.login_failed": "登录失败", "auth.login_locked": "登录被临时锁定",
    "auth.login_refused": "停用账号尝试登录", "auth.password_changed": "修改密码", "auth.password_reset": "管理员重置密码",
    "account.registered": "注册账号", "account.created": "创建账号", "account.activated": "首次登录激活",
    "account.activation_failed": "激活失败", "account.activation_locked": "激活被临时锁定",
    "account.role_granted": "授予角色", "account.role_revoked": "取消角色",
    "personal_data.unmasked": "查看完整个人信息", "personal_data.exported": "导出个人数据",
    "personal_data.anonymised": "注销并匿名化",
    "roster.imported": "导入花名册", "courses.imported": "导入课程目录",
    "enrolment.applied": "报名", "enrolment.approved": "通过报名", "enrolment.rejected": "拒绝报名",
    "enrolment.withdrawn": "退出报名", "enrolment.removed": "移出班级", "enrolment.promoted": "候补转正",
    "cohort.capacity_changed": "修改名额",
    "exams.scores_recorded": "录入/修改成绩", "exams.published": "发布成绩", "exams.unpublished": "撤回成绩",
    "exams.eligibility_overridden": "准许参加考核",
    "certificate.issued": "发证", "certificate.revoked": "作废证书", "certificate.reissued": "补发证书",
    "certificate.print_queued": "批量打印",
    "competition.drawn": "抽签", "competition.scores_locked": "锁定成绩", "competition.scores_unlocked": "解锁成绩",
    "competition.results_published": "公布竞赛结果", "competition.publication_withdrawn": "撤回竞赛结果",
    "degree.stage_changed": "学历提升阶段变更", "degree.cases_imported": "导入学历提升台账",
}


def action_label(action: str) -> str:
    """Chinese label of an audit action (its code when it has none)."""
    return ACTION_LABELS.get(action, action)


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
