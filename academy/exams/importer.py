"""Importing a score sheet (.xlsx/.csv) into an assessment: the upload page and
``flask --app academy import scores FILE --assessment ID`` both call ``import_scores``.

Format: the sheet an instructor keeps (../shared/data/scores-electrician.xlsx): 序号 姓名 身份证号
理论知识（满分100） 操作技能（满分100） 备注, with 缺考 for absences. All or nothing, with a
per-row report, as the roster import does; the marks go through ``services.record_scores`` (the
same validation, eligibility check, history and reason rule as the gradebook).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from academy.accounts.models import User
from academy.common.ids import InvalidIdNumber, InvalidMobile, normalise_mobile, parse_id_number
from academy.common.masking import mask_id_number, mask_name
from academy.common.spreadsheets import read_table
from academy.common.text import clean, clean_name
from academy.errors import RowError, ValidationFailed
from academy.exams import scoring
from academy.exams.models import Assessment
from academy.exams.scoring import MarkError
from academy.exams.services import gradebook, record_scores

IMPORT_COLUMNS = {
    "seq": ("序号",),
    "name": ("姓名", "学员姓名"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "证件号码"),
    "mobile": ("手机号", "手机", "手机号码", "联系电话"),
    "note": ("备注",),
}


@dataclass
class ImportReport:
    """What an import did: rows read, marks changed, and learners of the sheet missing from the file."""

    rows: int = 0
    changed: int = 0
    unchanged: int = 0
    missing: list[str] = field(default_factory=list)


def import_scores(assessment: Assessment, source: str | bytes | BinaryIO, *, filename: str, actor: User | None,
                  reason: str | None = None, now: datetime | None = None, source_label: str = "import") -> ImportReport:
    """Import a score sheet (.xlsx/.csv: 序号 姓名 身份证号 <component>（满分100）… 备注), all or nothing.

    Learners are matched by ID number, or by name + mobile when the file has no ID number; a
    component column is found by its name (the "（满分100）" note is ignored). Blank cells change
    nothing; 缺考 records an absence. Raises ``ValidationFailed`` listing every problem as
    "第5行，操作技能：超过满分100" (nothing written), ``ReasonRequired`` after publication.
    """
    components = {f"c{c.id}": c for c in assessment.components}
    columns = dict(IMPORT_COLUMNS) | {key: (c.name,) for key, c in components.items()}
    table = read_table(source, filename=filename, columns=columns, required=("name",))
    present = [key for key in components if key in table.labels]
    if not present:
        names = "、".join(c.name for c in assessment.components)
        raise ValidationFailed(f"表头中没有找到科目列（{names}）")
    if "id_number" not in table.labels and "mobile" not in table.labels:
        raise ValidationFailed("表头中应有“身份证号”列（或“手机号”列，与姓名一起核对学员）")
    rows = {r.learner.id: r for r in gradebook(assessment, now=now)}
    by_id = {r.learner.id_number: r for r in rows.values() if r.learner.id_number}
    by_name_mobile = {(r.learner.name, r.learner.mobile): r for r in rows.values()}
    errors: list[RowError] = []
    entries: dict[tuple[int, int], object] = {}
    seen: dict[int, int] = {}
    for row in table.rows:
        learner_row = _match(row, by_id, by_name_mobile, table.labels, errors)
        if learner_row is None:
            continue
        lid = learner_row.learner.id
        if lid in seen:
            errors.append(RowError(row.number, table.labels.get("name", "姓名"),
                                   f"与第{seen[lid]}行是同一名学员"))
            continue
        seen[lid] = row.number
        for key in present:
            component = components[key]
            raw = row.get(key)
            try:
                mark = scoring.parse_mark(raw, maximum=component.max_points)
            except MarkError as exc:
                errors.append(RowError(row.number, component.name, str(exc)))
                continue
            if mark is None:
                continue
            if mark != learner_row.marks.get(component.id) and not learner_row.eligibility.eligible:
                errors.append(RowError(row.number, component.name, "出勤未达标，未获考试资格（可由管理员特批）"))
                continue
            entries[(lid, component.id)] = raw
    if errors:
        raise ValidationFailed(f"文件中有 {len(errors)} 处问题，没有导入任何成绩", errors)
    changed = record_scores(assessment, entries, actor=actor, reason=reason, now=now, source=source_label)
    missing = [r.learner.name for r in rows.values() if r.learner.id not in seen]
    return ImportReport(rows=len(table.rows), changed=changed, unchanged=len(entries) - changed, missing=missing)


def _match(row, by_id, by_name_mobile, labels, errors: list[RowError]):
    name = clean_name(row.get("name"))
    name_label = labels.get("name", "姓名")
    if not name:
        errors.append(RowError(row.number, name_label, "姓名不能为空"))
        return None
    raw_id = row.get("id_number")
    if "id_number" in labels and clean(raw_id):
        id_label = labels["id_number"]
        try:
            id_number = parse_id_number(raw_id).value
        except InvalidIdNumber as exc:
            errors.append(RowError(row.number, id_label, str(exc)))
            return None
        found = by_id.get(id_number)
        if found is None:
            errors.append(RowError(row.number, id_label, f"本成绩单上没有身份证号为{mask_id_number(id_number)}的学员"))
            return None
        if clean_name(found.learner.name) != name:
            errors.append(RowError(row.number, name_label,
                                   f"姓名与身份证号不符（系统中为{mask_name(found.learner.name)}）"))
            return None
        return found
    if "mobile" in labels and clean(row.get("mobile")):
        try:
            mobile = normalise_mobile(row.get("mobile"))
        except InvalidMobile as exc:
            errors.append(RowError(row.number, labels["mobile"], str(exc)))
            return None
        found = by_name_mobile.get((name, mobile))
        if found is None:
            errors.append(RowError(row.number, name_label, "本成绩单上没有这个姓名和手机号的学员"))
        return found
    errors.append(RowError(row.number, labels.get("id_number", "身份证号"), "请填写身份证号（或手机号）以核对学员"))
    return None
