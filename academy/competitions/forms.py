"""Competition forms: the shape of the input only; rules live in the services.

Score sheets and bulk score tables are read straight from ``request.form`` by the views (their
fields depend on the marking scheme); CSRF is checked for them by ``ActionForm``.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from academy.accounts.models import OCCUPATION_GROUPS
from academy.common.timeutil import local_zone, to_local
from academy.competitions.models import RECUSAL_RELATIONS, Aggregation, AspectKind, AwardMode, ComponentSource
from academy.competitions.scoring import DEFAULT_TIE_BREAKS
from academy.competitions.services import (
    DEFAULT_AWARDS,
    DEFAULT_COMPONENTS,
    AwardSpec,
    ComponentSpec,
    EventValues,
)

COMPONENT_ROWS = 5
AWARD_ROWS = 6
TIE_BREAK_ROWS = 3


class ActionForm(FlaskForm):
    """A button or a table of inputs that only needs CSRF protection."""


class ReasonForm(FlaskForm):
    """An action that needs a written reason (reject, unlock, withdraw publication)."""

    reason = TextAreaField(_l("原因"), validators=[Optional(), Length(max=500)])


class EditionForm(FlaskForm):
    """Create or edit an edition (届)."""

    name = StringField(_l("届次名称"), validators=[DataRequired(_l("请填写届次名称")), Length(max=120)],
                       render_kw={"placeholder": _l("如 2026年“虔能杯”网约配送员职业技能竞赛")})
    year = IntegerField(_l("年份"), validators=[InputRequired(_l("请填写年份")), NumberRange(min=2000, max=2100)])
    organisers = TextAreaField(_l("主办、承办单位（每行一个）"), validators=[Optional(), Length(max=2000)])
    starts_on = DateField(_l("开始日期"), validators=[Optional()])
    ends_on = DateField(_l("结束日期"), validators=[Optional()])
    place = StringField(_l("地点"), validators=[Optional(), Length(max=120)])
    rules = TextAreaField(_l("竞赛规程摘要"), validators=[Optional(), Length(max=8000)])
    precision = IntegerField(_l("成绩保留小数位数"), default=2, validators=[InputRequired(), NumberRange(min=0, max=4)])


class ComponentRowForm(Form):
    """One component row of the event form (blank rows are ignored)."""

    code = StringField(_l("代码"), validators=[Optional(), Length(max=20)])
    name = StringField(_l("科目"), validators=[Optional(), Length(max=40)])
    weight = DecimalField(_l("权重（%）"), places=2, validators=[Optional(), NumberRange(min=0, max=100)])
    max_score = DecimalField(_l("满分"), places=2, validators=[Optional(), NumberRange(min=0, max=1000)])
    source = SelectField(_l("计分"), choices=[(ComponentSource.ENTERED.value, _l("录入/导入")),
                                              (ComponentSource.SCHEME.value, _l("按评分标准"))],
                         default=ComponentSource.ENTERED.value, validate_choice=False)


class AwardRowForm(Form):
    """One award tier row, best first (blank rows are ignored)."""

    name = StringField(_l("奖项"), validators=[Optional(), Length(max=20)])
    count = IntegerField(_l("人数"), validators=[Optional(), NumberRange(min=0, max=1000)])
    share = DecimalField(_l("比例（%）"), places=2, validators=[Optional(), NumberRange(min=0, max=100)])
    title = StringField(_l("称号"), validators=[Optional(), Length(max=40)])
    level_note = StringField(_l("技能等级晋升"), validators=[Optional(), Length(max=120)])


class MultiCheckboxField(SelectMultipleField):
    """Check boxes for a multiple choice (usable on a phone, no JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EventForm(FlaskForm):
    """Create or edit an event (赛项) with its components, ranking rules and awards."""

    name = StringField(_l("赛项名称"), validators=[DataRequired(_l("请填写赛项名称")), Length(max=120)])
    occupation = StringField(_l("职业（工种）"), validators=[DataRequired(_l("请填写职业")), Length(max=60)],
                             render_kw={"placeholder": _l("如 网约配送员")})
    occupation_code = StringField(_l("职业编码"), validators=[Optional(), Length(max=20)],
                                  render_kw={"placeholder": "4-02-07-10"})
    level = StringField(_l("竞赛等级"), validators=[Optional(), Length(max=30)],
                        render_kw={"placeholder": _l("如 三级/高级工")})
    contest_date = DateField(_l("比赛日期"), validators=[Optional()])
    place = StringField(_l("比赛地点"), validators=[Optional(), Length(max=120)])
    registration_opens_at = DateTimeLocalField(_l("报名开始"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    registration_closes_at = DateTimeLocalField(_l("报名截止"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    capacity = IntegerField(_l("名额"), default=100, validators=[InputRequired(), NumberRange(min=1, max=100000)])
    eligible_groups = MultiCheckboxField(_l("可报名的从业类型（不选则不限）"),
                                         choices=[(g, g) for g in OCCUPATION_GROUPS], validators=[Optional()])
    min_age = IntegerField(_l("最小年龄（比赛当天，周岁）"), validators=[Optional(), NumberRange(min=0, max=120)])
    max_age = IntegerField(_l("最大年龄（比赛当天，周岁）"), validators=[Optional(), NumberRange(min=0, max=120)])
    approval_required = BooleanField(_l("报名需要审核"), default=True)
    components = FieldList(FormField(ComponentRowForm), min_entries=COMPONENT_ROWS, max_entries=COMPONENT_ROWS)
    tie_breaks = FieldList(SelectField(validate_choice=False), min_entries=TIE_BREAK_ROWS,
                           max_entries=TIE_BREAK_ROWS)
    shared_ranks = BooleanField(_l("允许并列名次（所有排名条件都相同时）"), default=True)
    award_mode = SelectField(_l("设奖方式"), choices=[(AwardMode.COUNTS.value, _l("按固定人数")),
                                                      (AwardMode.SHARES.value, _l("按参赛人数比例"))])
    awards = FieldList(FormField(AwardRowForm), min_entries=AWARD_ROWS, max_entries=AWARD_ROWS)


class StatusForm(FlaskForm):
    """Move the event to another phase."""

    status = SelectField(_l("阶段"), choices=[("setup", _l("筹备中")), ("registration", _l("报名中")),
                                              ("contest", _l("比赛中（截止报名）"))])


class UploadForm(FlaskForm):
    """Upload a spreadsheet (.xlsx or .csv)."""

    file = FileField(_l("文件（.xlsx 或 .csv）"), validators=[FileRequired(_l("请选择文件"))])
    dry_run = BooleanField(_l("只检查，不导入"))


class RegistrationImportForm(UploadForm):
    """Upload the organisers' registration list."""

    occupation_group = SelectField(_l("新学员的从业类型"), choices=[("", _l("不填写"))]
                                   + [(g, g) for g in OCCUPATION_GROUPS], validators=[Optional()])
    with_scores = BooleanField(_l("同时导入“理论知识成绩”列"))
    component = SelectField(_l("导入到科目"), validators=[Optional()], validate_choice=False)


class ScoreImportForm(UploadForm):
    """Upload a component's scores (the exam system's export)."""

    component = SelectField(_l("科目"), validate_choice=False)


class DrawForm(FlaskForm):
    """Draw the contestant numbers; the seed is optional (a fresh one is generated)."""

    seed = StringField(_l("随机种子（可不填，系统自动生成并记录）"), validators=[Optional(), Length(max=64)])


class CheckInForm(FlaskForm):
    """Check a contestant in by ID number."""

    id_number = StringField(_l("身份证号后6位或完整身份证号"),
                            validators=[DataRequired(_l("请输入身份证号")), Length(max=24)],
                            render_kw={"autocomplete": "off", "autofocus": True})


class JudgeAssignForm(FlaskForm):
    """Assign a judge to the event."""

    judge_id = SelectField(_l("裁判"), coerce=int)
    is_chief = BooleanField(_l("裁判长"))
    marks = BooleanField(_l("参与评分"), default=True)


class RecusalForm(FlaskForm):
    """A judge declares a recusal (or an administrator records one for a judge)."""

    relation = SelectField(_l("关系"), choices=[(r, r) for r in RECUSAL_RELATIONS])
    reason = StringField(_l("说明"), validators=[DataRequired(_l("请写明回避理由")), Length(max=200)])


class AdminRecusalForm(RecusalForm):
    """An administrator records a recusal for a judge and a contestant."""

    judge_id = SelectField(_l("裁判"), coerce=int)
    entry_id = SelectField(_l("选手"), coerce=int)


class AspectForm(FlaskForm):
    """Add or edit one aspect of the marking scheme."""

    sub_criterion = StringField(_l("子模块"), validators=[DataRequired(_l("请填写子模块")), Length(max=80)],
                                render_kw={"placeholder": _l("如 A 出车前准备")})
    name = StringField(_l("评分项"), validators=[DataRequired(_l("请填写评分项")), Length(max=120)])
    kind = SelectField(_l("类型"), choices=[(AspectKind.MEASUREMENT.value, _l("M 测量")),
                                            (AspectKind.JUDGEMENT.value, _l("J 评价（0–3 分档）"))])
    max_mark = DecimalField(_l("分值"), places=2, validators=[InputRequired(_l("请填写分值")),
                                                              NumberRange(min=0, max=1000)])
    aggregation = SelectField(_l("多名裁判的计分方式"), choices=[
        (Aggregation.MEAN.value, _l("平均")),
        (Aggregation.TRIMMED.value, _l("去掉一个最高分和一个最低分后平均（5名及以上裁判）"))])
    partial_marks = StringField(_l("可选分值（测量类，选填）"), validators=[Optional(), Length(max=200)],
                                render_kw={"placeholder": _l("如 0, 1, 2, 3；不填则按 0.5 分录入")})
    notes = TextAreaField(_l("评分说明"), validators=[Optional(), Length(max=1000)])


def _aware(value):
    return value.replace(tzinfo=local_zone()) if value else None


def _naive_local(value):
    return to_local(value).replace(tzinfo=None) if value else None


def tie_break_choices(codes_and_names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Choices of a tie-break select: each component high-first, time used low-first, or none."""
    choices = [("", _l("（不使用）"))]
    for code, name in codes_and_names:
        choices.append((f"{code}:desc", _l("%(name)s高者优先", name=name)))
    choices.append(("time:asc", _l("用时少者优先")))
    return choices


def load_event_form(form: EventForm, event) -> None:
    """Fill ``form`` from an existing event (GET), or with the defaults for a new one (``event`` None)."""
    if event is not None:
        form.registration_opens_at.data = _naive_local(event.registration_opens_at)
        form.registration_closes_at.data = _naive_local(event.registration_closes_at)
    components = event.components if event is not None else DEFAULT_COMPONENTS
    for row, c in zip((r.form for r in form.components), components, strict=False):
        row.code.data, row.name.data, row.weight.data = c.code, c.name, c.weight
        row.max_score.data, row.source.data = c.max_score, c.source
    tie_breaks = event.tie_breaks if event is not None else DEFAULT_TIE_BREAKS
    for field, value in zip(form.tie_breaks, list(tie_breaks) + [""] * TIE_BREAK_ROWS, strict=False):
        field.data = value
    awards = event.award_rules if event is not None else DEFAULT_AWARDS
    for row, a in zip((r.form for r in form.awards), awards, strict=False):
        row.name.data, row.count.data, row.share.data = a.name, a.count, a.share
        row.title.data, row.level_note.data = a.title, a.level_note


def set_tie_break_choices(form: EventForm) -> None:
    """Offer the components named in the form's rows as tie-break keys."""
    rows = [r.form for r in form.components]
    pairs = [(r.code.data, r.name.data) for r in rows if r.code.data and r.name.data]
    for field in form.tie_breaks:
        field.choices = tie_break_choices(pairs)


def event_form_input(form: EventForm):
    """The service input of a validated event form: ``(EventValues, [ComponentSpec], [AwardSpec])``."""
    values = EventValues(
        name=form.name.data or "", occupation=form.occupation.data or "",
        occupation_code=form.occupation_code.data, level=form.level.data, contest_date=form.contest_date.data,
        place=form.place.data, registration_opens_at=_aware(form.registration_opens_at.data),
        registration_closes_at=_aware(form.registration_closes_at.data), capacity=form.capacity.data,
        eligible_groups=tuple(form.eligible_groups.data or ()), min_age=form.min_age.data,
        max_age=form.max_age.data, approval_required=form.approval_required.data,
        shared_ranks=form.shared_ranks.data, tie_breaks=tuple(f.data for f in form.tie_breaks if f.data),
        award_mode=form.award_mode.data)
    components = [ComponentSpec(code=(r.code.data or "").strip(), name=(r.name.data or "").strip(),
                                weight=r.weight.data, max_score=r.max_score.data or Decimal(100),
                                source=r.source.data)
                  for r in (row.form for row in form.components) if (r.name.data or "").strip()]
    awards = [AwardSpec(name=(r.name.data or "").strip(), count=r.count.data, share=r.share.data,
                        title=r.title.data, level_note=r.level_note.data)
              for r in (row.form for row in form.awards) if (r.name.data or "").strip()]
    return values, components, awards
