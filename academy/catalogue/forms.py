"""Catalogue forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from academy.accounts.models import DISTRICTS
from academy.catalogue.models import COHORT_STATUS_LABELS, DeliveryMode, ExcusedPolicy


class CatalogueFilterForm(FlaskForm):
    """The public catalogue's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField("搜索", validators=[Optional(), Length(max=40)],
                    render_kw={"placeholder": "课程、工种或地点", "type": "search"})
    occupation = SelectField("工种", choices=[("", "全部工种")], validators=[Optional()], validate_choice=False)
    mode = SelectField("方式", choices=[("", "全部方式")] + [(m.value, m.value) for m in DeliveryMode],
                       validators=[Optional()], validate_choice=False)
    district = SelectField("地区", choices=[("", "全部地区")], validators=[Optional()], validate_choice=False)
    time = SelectField("时间", choices=[("", "任何时间"), ("morning", "上午"), ("afternoon", "下午"),
                                       ("evening", "晚上"), ("weekend", "周末")],
                       validators=[Optional()], validate_choice=False)
    open = BooleanField("只看正在招生")


class CourseForm(FlaskForm):
    """Create or edit a course."""

    code = StringField("课程编号", validators=[DataRequired("请填写课程编号"), Length(max=30)])
    title = StringField("课程名称", validators=[DataRequired("请填写课程名称"), Length(max=120)])
    occupation = StringField("职业（工种）", validators=[DataRequired("请填写工种"), Length(max=60)])
    occupation_code = StringField("职业编码", validators=[Optional(), Length(max=20)],
                                  render_kw={"placeholder": "如 6-31-01-03"})
    level = StringField("培训等级", validators=[Optional(), Length(max=30)])
    hours = IntegerField("课时", validators=[InputRequired("请填写课时"), NumberRange(min=0, max=2000)])
    delivery_mode = SelectField("培训方式", choices=[(m.value, m.value) for m in DeliveryMode])
    fee = DecimalField("费用（元）", places=2, default=0, validators=[InputRequired(), NumberRange(min=0)])
    subsidy = DecimalField("补贴（元）", places=2, default=0, validators=[InputRequired(), NumberRange(min=0)])
    description = TextAreaField("课程介绍", validators=[Optional(), Length(max=4000)])
    is_published = BooleanField("在课程目录中显示", default=True)


class CohortForm(FlaskForm):
    """Create or edit a cohort."""

    course_id = SelectField("课程", coerce=int)
    code = StringField("班级编号", validators=[DataRequired("请填写班级编号"), Length(max=40)])
    name = StringField("班级名称", validators=[DataRequired("请填写班级名称"), Length(max=120)],
                       render_kw={"placeholder": "如 2026年第3期电工班"})
    start_date = DateField("开班日期", validators=[DataRequired("请填写开班日期")])
    end_date = DateField("结业日期", validators=[DataRequired("请填写结业日期")])
    schedule = StringField("上课时间", validators=[DataRequired("请填写上课时间"), Length(max=120)],
                           render_kw={"placeholder": "如 周一至周五 19:30-21:30"})
    place = StringField("上课地点", validators=[Optional(), Length(max=120)])
    district = SelectField("所在县（市、区）", choices=[("", "请选择")] + [(d, d) for d in DISTRICTS],
                           validators=[Optional()])
    capacity = IntegerField("名额", validators=[InputRequired("请填写名额"), NumberRange(min=1, max=5000)])
    enrolment_opens_at = DateTimeLocalField("报名开始", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    enrolment_closes_at = DateTimeLocalField("报名截止", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    approval_required = BooleanField("报名需要审核")
    status = SelectField("状态", choices=[(k.value, v) for k, v in COHORT_STATUS_LABELS.items()])
    attendance_threshold = IntegerField("出勤率要求（%）", default=80,
                                        validators=[InputRequired(), NumberRange(min=0, max=100)])
    excused_policy = SelectField("请假如何计入出勤率", choices=[
        (ExcusedPolicy.EXCLUDE.value, "不计入（默认）"),
        (ExcusedPolicy.ABSENT.value, "按缺勤计"),
        (ExcusedPolicy.PRESENT.value, "按出勤计"),
    ])
    instructor_ids = SelectMultipleField("授课教师", coerce=int, validators=[Optional()])
