"""Catalogue forms: shape of the input only; rules live in catalogue.services.

Labels, hints, validator messages and choice labels are ``lazy_gettext`` (Chinese source).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
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

from academy.accounts.forms import DISTRICT_LABELS
from academy.accounts.models import DISTRICTS
from academy.catalogue.models import COHORT_STATUS_LABELS, DELIVERY_MODE_LABELS, DeliveryMode, ExcusedPolicy


class CatalogueFilterForm(FlaskForm):
    """The public catalogue's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("搜索"), validators=[Optional(), Length(max=40)],
                    render_kw={"placeholder": _l("课程、工种或地点"), "type": "search"})
    occupation = SelectField(_l("工种"), choices=[("", _l("全部工种"))], validators=[Optional()], validate_choice=False)
    mode = SelectField(_l("方式"), choices=[("", _l("全部方式"))] + [(m.value, DELIVERY_MODE_LABELS[m]) for m in DeliveryMode],
                       validators=[Optional()], validate_choice=False)
    district = SelectField(_l("地区"), choices=[("", _l("全部地区"))], validators=[Optional()], validate_choice=False)
    time = SelectField(_l("时间"), choices=[("", _l("任何时间")), ("morning", _l("上午")), ("afternoon", _l("下午")),
                                       ("evening", _l("晚上")), ("weekend", _l("周末"))],
                       validators=[Optional()], validate_choice=False)
    open = BooleanField(_l("只看正在招生"))


class CourseForm(FlaskForm):
    """Create or edit a course."""

    code = StringField(_l("课程编号"), validators=[DataRequired(_l("请填写课程编号")), Length(max=30)])
    title = StringField(_l("课程名称"), validators=[DataRequired(_l("请填写课程名称")), Length(max=120)])
    occupation = StringField(_l("职业（工种）"), validators=[DataRequired(_l("请填写工种")), Length(max=60)])
    occupation_code = StringField(_l("职业编码"), validators=[Optional(), Length(max=20)],
                                  render_kw={"placeholder": _l("如 6-31-01-03")})
    level = StringField(_l("培训等级"), validators=[Optional(), Length(max=30)])
    hours = IntegerField(_l("课时"), validators=[InputRequired(_l("请填写课时")),
                                              NumberRange(min=0, max=2000, message=_l("课时应在0到2000之间"))])
    delivery_mode = SelectField(_l("培训方式"), choices=[(m.value, DELIVERY_MODE_LABELS[m]) for m in DeliveryMode])
    fee = DecimalField(_l("费用（元）"), places=2, default=0,
                       validators=[InputRequired(_l("请填写费用，免费填0")), NumberRange(min=0, message=_l("不能为负数"))])
    subsidy = DecimalField(_l("补贴（元）"), places=2, default=0,
                           validators=[InputRequired(_l("请填写补贴，没有填0")), NumberRange(min=0, message=_l("不能为负数"))])
    description = TextAreaField(_l("课程介绍"), validators=[Optional(), Length(max=4000)])
    is_published = BooleanField(_l("在课程目录中显示"), default=True)


class CohortForm(FlaskForm):
    """Create or edit a cohort."""

    course_id = SelectField(_l("课程"), coerce=int)
    code = StringField(_l("班级编号"), validators=[DataRequired(_l("请填写班级编号")), Length(max=40)])
    name = StringField(_l("班级名称"), validators=[DataRequired(_l("请填写班级名称")), Length(max=120)],
                       render_kw={"placeholder": _l("如 2026年第3期电工班")})
    start_date = DateField(_l("开班日期"), validators=[DataRequired(_l("请填写开班日期"))])
    end_date = DateField(_l("结业日期"), validators=[DataRequired(_l("请填写结业日期"))])
    schedule = StringField(_l("上课时间"), validators=[DataRequired(_l("请填写上课时间")), Length(max=120)],
                           render_kw={"placeholder": _l("如 周一至周五 19:30-21:30")})
    place = StringField(_l("上课地点"), validators=[Optional(), Length(max=120)])
    district = SelectField(_l("所在县（市、区）"), choices=[("", _l("请选择"))] + [(d, DISTRICT_LABELS.get(d, d)) for d in DISTRICTS],
                           validators=[Optional()])
    capacity = IntegerField(_l("名额"), validators=[InputRequired(_l("请填写名额")),
                                                NumberRange(min=1, max=5000, message=_l("名额应在1到5000之间"))])
    enrolment_opens_at = DateTimeLocalField(_l("报名开始"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    enrolment_closes_at = DateTimeLocalField(_l("报名截止"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    approval_required = BooleanField(_l("报名需要审核"))
    status = SelectField(_l("状态"), choices=[(k.value, v) for k, v in COHORT_STATUS_LABELS.items()])
    attendance_threshold = IntegerField(_l("出勤率要求（%）"), default=80,
                                        validators=[InputRequired(_l("请填写出勤率要求")),
                                                    NumberRange(min=0, max=100, message=_l("应在0到100之间"))])
    excused_policy = SelectField(_l("请假如何计入出勤率"), choices=[
        (ExcusedPolicy.EXCLUDE.value, _l("不计入（默认）")),
        (ExcusedPolicy.ABSENT.value, _l("按缺勤计")),
        (ExcusedPolicy.PRESENT.value, _l("按出勤计")),
    ])
    instructor_ids = SelectMultipleField(_l("授课教师"), coerce=int, validators=[Optional()])


class CourseUploadForm(FlaskForm):
    """Upload the course catalogue (.xlsx or .csv); type and size are checked by the importer."""

    file = FileField(_l("课程目录文件（.xlsx 或 .csv）"), validators=[FileRequired(_l("请选择文件"))])
    skip_invalid = BooleanField(_l("跳过有问题的行，只导入正确的行"))
    dry_run = BooleanField(_l("只检查，不导入"))
