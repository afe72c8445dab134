"""Degree-upgrade forms (input shape only; rules live in services)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from academy.degrees.models import COURSE_RESULT_LABELS
from academy.degrees.stages import KEY_DATE_LABELS, LEVEL_LABELS, ROUTE_LABELS, STAGE_LABELS

ROUTE_CHOICES = [(str(k), v) for k, v in ROUTE_LABELS.items()]
LEVEL_CHOICES = [(str(k), v) for k, v in LEVEL_LABELS.items()]
# New learners are offered the three current routes (网络教育 is kept for existing records only).
INTEREST_ROUTE_CHOICES = [("", "还不确定，请老师推荐")] + ROUTE_CHOICES[:3]
INTEREST_LEVEL_CHOICES = [("", "还不确定")] + LEVEL_CHOICES


class ActionForm(FlaskForm):
    """A button that only needs CSRF protection."""


class InterestForm(FlaskForm):
    """A learner says they want to upgrade their degree (all fields optional)."""

    route = SelectField("想走哪条路", choices=INTEREST_ROUTE_CHOICES, validators=[Optional()])
    level = SelectField("想读的层次", choices=INTEREST_LEVEL_CHOICES, validators=[Optional()])
    note = TextAreaField("想对老师说的话（选填）", validators=[Optional(), Length(max=500)],
                         render_kw={"placeholder": "比如：想读物流管理，晚上有空"})


class ProgrammeForm(FlaskForm):
    """Create or edit an upgrade programme."""

    route = SelectField("途径", choices=ROUTE_CHOICES)
    level = SelectField("层次", choices=LEVEL_CHOICES)
    institution = StringField("院校", validators=[DataRequired("请填写院校"), Length(max=80)])
    major = StringField("专业", validators=[DataRequired("请填写专业"), Length(max=80)])
    min_study_months = IntegerField("最短学习年限（月）", validators=[Optional(), NumberRange(min=1, max=120)])
    record_valid_months = IntegerField("学籍有效期（月）", validators=[Optional(), NumberRange(min=1, max=240)])
    credits_required = IntegerField("毕业所需学分", validators=[Optional(), NumberRange(min=0, max=1000)])
    courses_required = IntegerField("毕业所需课程数（自考）", validators=[Optional(), NumberRange(min=0, max=100)])
    intake_seasons = StringField("招生季", validators=[Optional(), Length(max=60)],
                                 render_kw={"placeholder": "如：春季、秋季"})
    tuition = DecimalField("学费（元，全程）", places=2, default=0, validators=[InputRequired(), NumberRange(min=0)])
    subsidy = DecimalField("可申请补贴（元）", places=2, default=0, validators=[InputRequired(), NumberRange(min=0)])
    subsidy_source = StringField("补贴来源", validators=[Optional(), Length(max=60)],
                                 render_kw={"placeholder": "如：市总工会求学圆梦"})
    is_active = BooleanField("正在招生", default=True)
    note = TextAreaField("说明", validators=[Optional(), Length(max=2000)])


class KeyDateForm(FlaskForm):
    """Add a key date (or window) of a route."""

    route = SelectField("途径", choices=ROUTE_CHOICES)
    year = IntegerField("年度", validators=[InputRequired("请填写年度"), NumberRange(min=2000, max=2100)])
    kind = SelectField("事项", choices=[(str(k), v) for k, v in KEY_DATE_LABELS.items()])
    starts_on = DateField("开始日期", validators=[InputRequired("请填写日期")])
    ends_on = DateField("结束日期（一天的事项不填）", validators=[Optional()])
    note = StringField("说明", validators=[Optional(), Length(max=200)])


class OpenCaseForm(FlaskForm):
    """An admin opens a case for a learner (found by mobile or ID number) on a programme."""

    learner = StringField("学员手机号或身份证号", validators=[DataRequired("请填写手机号或身份证号"), Length(max=30)])
    programme_id = SelectField("项目", coerce=int, validate_choice=False)
    override_reason = TextAreaField("特殊情况说明（不满足入学条件时填写）", validators=[Optional(), Length(max=500)])
    note = TextAreaField("备注", validators=[Optional(), Length(max=500)])


class ProgrammeChoiceForm(FlaskForm):
    """Attach or change the programme of a case."""

    programme_id = SelectField("项目", coerce=int, validate_choice=False)
    override_reason = TextAreaField("特殊情况说明（不满足入学条件时填写）", validators=[Optional(), Length(max=500)])


class MoveForm(FlaskForm):
    """Move a case to another stage (choices: only the allowed transitions)."""

    to_stage = SelectField("改为", choices=[(str(k), v) for k, v in STAGE_LABELS.items()], validate_choice=False)
    on = DateField("日期", validators=[InputRequired("请填写日期")])
    note = TextAreaField("说明（暂缓、退出、退回时必填）", validators=[Optional(), Length(max=1000)])


class RecordForm(FlaskForm):
    """The record fields of a case."""

    student_number = StringField("学号", validators=[Optional(), Length(max=40)])
    exam_ticket_number = StringField("准考证号", validators=[Optional(), Length(max=40)])
    exam_score = DecimalField("考试成绩（总分）", places=1, validators=[Optional(), NumberRange(min=0, max=1000)])
    admitted_on = DateField("录取日期", validators=[Optional()])
    enrolled_on = DateField("入学（注册学籍）日期", validators=[Optional()])
    intake_year = IntegerField("入学年份", validators=[Optional(), NumberRange(min=2000, max=2100)])
    intake_season = SelectField("入学季", choices=[("", "—"), ("春季", "春季"), ("秋季", "秋季")],
                                validators=[Optional()])
    credits_earned = DecimalField("已获学分", places=1, validators=[Optional(), NumberRange(min=0, max=1000)])
    fees_paid = DecimalField("已缴学费（元）", places=2, validators=[Optional(), NumberRange(min=0)])
    subsidy_granted = DecimalField("批准补贴（元）", places=2, validators=[Optional(), NumberRange(min=0)])
    subsidy_paid = DecimalField("已发补贴（元）", places=2, validators=[Optional(), NumberRange(min=0)])
    diploma_number = StringField("毕业证编号", validators=[Optional(), Length(max=40)])
    graduated_on = DateField("毕业日期", validators=[Optional()])
    advisor_id = SelectField("负责老师", coerce=int, validate_choice=False)
    note = TextAreaField("备注", validators=[Optional(), Length(max=2000)])


class CourseResultForm(FlaskForm):
    """A 自学考试 course result."""

    course_code = StringField("课程代码", validators=[DataRequired("请填写课程代码"), Length(max=20)])
    course_name = StringField("课程名称", validators=[DataRequired("请填写课程名称"), Length(max=80)])
    credits = DecimalField("学分", places=1, validators=[InputRequired("请填写学分"), NumberRange(min=0, max=20)])
    sitting = StringField("考试时间", validators=[DataRequired("请填写考试时间"), Length(max=20)],
                          render_kw={"placeholder": "2026年4月"})
    result = SelectField("结果", choices=list(COURSE_RESULT_LABELS.items()))
    score = DecimalField("分数（选填）", places=1, validators=[Optional(), NumberRange(min=0, max=100)])


class CaseFilterForm(FlaskForm):
    """Filters of the admin case list (GET, no CSRF)."""

    class Meta:
        csrf = False

    stage = SelectField("阶段", choices=[("", "全部阶段")] + [(str(k), v) for k, v in STAGE_LABELS.items()],
                        validators=[Optional()], validate_choice=False)
    route = SelectField("途径", choices=[("", "全部途径")] + ROUTE_CHOICES + [("undecided", "未定")],
                        validators=[Optional()], validate_choice=False)
    institution = SelectField("院校", choices=[("", "全部院校")], validators=[Optional()], validate_choice=False)
    district = SelectField("县（市、区）", choices=[("", "全部地区")], validators=[Optional()], validate_choice=False)
    overdue = BooleanField("只看下一步已逾期的")
    upcoming = BooleanField("只看14天内有节点的")


class ImportForm(FlaskForm):
    """Upload the degree-upgrade ledger (.xlsx or .csv)."""

    file = FileField("学历提升台账（.xlsx 或 .csv）", validators=[FileRequired("请选择文件")])
    dry_run = BooleanField("只检查，不导入")
