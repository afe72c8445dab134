"""Enrolment forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class ActionForm(FlaskForm):
    """A button that only needs CSRF protection (enrol, withdraw)."""


class DecisionForm(FlaskForm):
    """Approve or reject a pending application."""

    reason = TextAreaField("理由", validators=[Optional(), Length(max=500)])


class RemovalForm(FlaskForm):
    """An admin removes a learner from a cohort."""

    reason = StringField("移出原因", validators=[DataRequired("请填写移出原因"), Length(max=500)])


class CapacityForm(FlaskForm):
    """Change a cohort's number of seats."""

    capacity = IntegerField("名额", validators=[InputRequired("请填写名额"), NumberRange(min=1, max=5000)])


class RosterUploadForm(FlaskForm):
    """Upload a learner roster (.xlsx or .csv)."""

    file = FileField("花名册文件（.xlsx 或 .csv）", validators=[FileRequired("请选择文件")])
    cohort_code = StringField("报名到班级（选填，班级编号）", validators=[Optional(), Length(max=40)])
    skip_invalid = BooleanField("跳过有问题的行，只导入正确的行")
    dry_run = BooleanField("只检查，不导入")
