"""Attendance forms: the shape of the input only (labels and messages are ``lazy_gettext``)."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from academy.attendance.models import MAX_ROTATION_SECONDS, MAX_WINDOW_MINUTES, MIN_ROTATION_SECONDS
from academy.attendance.services import CheckInRules

_MINUTES = NumberRange(0, MAX_WINDOW_MINUTES, _l("应在 0 到 240 分钟之间"))
_SECONDS = NumberRange(MIN_ROTATION_SECONDS, MAX_ROTATION_SECONDS, _l("应在 10 到 300 秒之间"))
_REQUIRED = InputRequired(_l("请填写"))


class ActionForm(FlaskForm):
    """A button that only needs CSRF protection (confirm check-in, withdraw leave)."""


class RulesMixin:
    """The four check-in settings (minutes / seconds)."""

    opens_before_minutes = IntegerField(_l("提前多少分钟开放签到"), default=15, validators=[_REQUIRED, _MINUTES])
    late_after_minutes = IntegerField(_l("上课多少分钟后算迟到"), default=15, validators=[_REQUIRED, _MINUTES])
    closes_after_minutes = IntegerField(_l("下课后多少分钟停止签到"), default=0, validators=[_REQUIRED, _MINUTES])
    rotation_seconds = IntegerField(_l("二维码多少秒换一次"), default=30, validators=[_REQUIRED, _SECONDS])

    def rules(self) -> CheckInRules:
        """The entered settings."""
        return CheckInRules(self.opens_before_minutes.data, self.late_after_minutes.data,
                            self.closes_after_minutes.data, self.rotation_seconds.data)

    def fill_rules(self, rules: CheckInRules) -> None:
        """Show ``rules`` in the fields."""
        for name in ("opens_before_minutes", "late_after_minutes", "closes_after_minutes", "rotation_seconds"):
            getattr(self, name).data = getattr(rules, name)


class SessionForm(RulesMixin, FlaskForm):
    """Create or edit one session: local day, start and end (Asia/Shanghai), place, topic, rules."""

    day = DateField(_l("上课日期"), validators=[DataRequired(_l("请选择日期"))])
    start = TimeField(_l("上课时间"), validators=[DataRequired(_l("请填写上课时间"))])
    end = TimeField(_l("下课时间"), validators=[DataRequired(_l("请填写下课时间"))])
    ends_next_day = BooleanField(_l("次日结束（课程跨过午夜，如 22:30 到次日 00:30）"))
    place = StringField(_l("地点"), validators=[Optional(), Length(max=120)])
    topic = StringField(_l("内容"), validators=[Optional(), Length(max=200)],
                        render_kw={"placeholder": _l("如 安全用电基础")})


_DATE_TOKEN = re.compile(r"[\s,，、;；]+")  # noqa: RUF001 - full-width separators on purpose


def parse_dates(text: str | None) -> list[date]:
    """Parse dates written as ``2026-05-01``, ``2026/5/1`` or ``2026.5.1`` separated by spaces,
    commas, 、 or new lines. Raises ``ValueError`` naming the first unreadable one (Chinese)."""
    out = []
    for token in (t for t in _DATE_TOKEN.split(text or "") if t):
        parts = re.split(r"[-/.]", token)
        try:
            if len(parts) != 3:
                raise ValueError
            out.append(date(int(parts[0]), int(parts[1]), int(parts[2])))
        except ValueError:
            raise ValueError(f"看不懂日期“{token}”，请写成 2026-05-01") from None
    return out


class GenerateForm(FlaskForm):
    """Create sessions from the cohort's weekly pattern between two local days."""

    first_day = DateField(_l("从哪天"), validators=[DataRequired(_l("请选择开始日期"))])
    last_day = DateField(_l("到哪天"), validators=[DataRequired(_l("请选择结束日期"))])
    skip = TextAreaField(_l("跳过的日期（节假日等，选填）"), validators=[Optional(), Length(max=2000)],
                         render_kw={"placeholder": _l("如 2026-05-01, 2026-05-02")})
    topic = StringField(_l("内容（选填）"), validators=[Optional(), Length(max=200)])

    skip_dates: list[date] | tuple[()] = ()  # filled by validate_skip

    def validate_skip(self, field) -> None:
        """Parse the skipped days into ``skip_dates``; an unreadable one is a field error."""
        try:
            self.skip_dates = parse_dates(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class RulesForm(RulesMixin, FlaskForm):
    """The cohort's check-in defaults."""

    apply_to_upcoming = BooleanField(_l("同时修改还没开始的课次"), default=True)


class CancelForm(FlaskForm):
    """Cancel a session with a reason the learners see."""

    reason = StringField(_l("取消原因"), validators=[DataRequired(_l("请填写取消原因")), Length(max=200)])


class MarkForm(FlaskForm):
    """Roll call: the tapped status button and the note."""

    status = StringField(_l("状态"), validators=[DataRequired(_l("请选择状态"))])
    note = StringField(_l("备注"), validators=[Optional(), Length(max=200)])


class LeaveForm(FlaskForm):
    """A learner asks for leave."""

    reason = TextAreaField(_l("请假原因"), validators=[DataRequired(_l("请填写请假原因")), Length(max=500)],
                           render_kw={"placeholder": _l("如 晚高峰订单多，需要跑单")})


class LeaveDecisionForm(FlaskForm):
    """The instructor approves or rejects a leave request (a reason is required to reject)."""

    note = StringField(_l("说明（不批准时必填）"), validators=[Optional(), Length(max=200)])


class CodeForm(FlaskForm):
    """The 6-digit code typed from the projector."""

    code = StringField(_l("签到码"), validators=[DataRequired(_l("请输入投影上的 6 位数字"))],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 12,
                                  "placeholder": _l("6 位数字")})  # spaces allowed: "281 805"
