"""Enrolment forms: shape of the input only (labels and messages are ``lazy_gettext``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class ActionForm(FlaskForm):
    """A button that only needs CSRF protection (enrol, withdraw)."""


class DecisionForm(FlaskForm):
    """Approve or reject a pending application."""

    reason = TextAreaField(_l("理由"), validators=[Optional(), Length(max=500)])


class RemovalForm(FlaskForm):
    """An admin removes a learner from a cohort."""

    reason = StringField(_l("移出原因"), validators=[DataRequired(_l("请填写移出原因")), Length(max=500)])


class CapacityForm(FlaskForm):
    """Change a cohort's number of seats."""

    capacity = IntegerField(_l("名额"), validators=[InputRequired(_l("请填写名额")),
                                                NumberRange(min=1, max=5000, message=_l("名额应在1到5000之间"))])


class RosterUploadForm(FlaskForm):
    """Upload a learner roster (.xlsx or .csv)."""

    file = FileField(_l("花名册文件（.xlsx 或 .csv）"), validators=[FileRequired(_l("请选择文件"))])
    cohort_code = StringField(_l("报名到班级（选填，班级编号）"), validators=[Optional(), Length(max=40)])
    skip_invalid = BooleanField(_l("跳过有问题的行，只导入正确的行"))
    dry_run = BooleanField(_l("只检查，不导入"))
