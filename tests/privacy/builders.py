"""A learner with a record in every module, for the privacy tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flask import current_app

from academy.accounts.models import User
from academy.attendance.models import ClassSession, LeaveRequest
from academy.certificates import services as certificates
from academy.certificates.models import Certificate, ExternalLevelCertificate
from academy.competitions.models import EntryStatus
from academy.degrees.models import Notice
from academy.degrees.stages import Stage
from academy.exams import services as exams
from academy.extensions import db
from tests.certificates.builders import NOW, Class, graduating_class, make_class
from tests.degrees.builders import make_case
from tests.factories import enrol
from tests.reports.builders import entry, event


@dataclass
class Person:
    """The learner (first of a graduating class) and what was recorded about them."""

    cls: Class
    learner: User
    certificate: Certificate
    unpublished: object  # an assessment of another cohort whose results are not published


def person_everywhere() -> Person:
    """A learner who attended, passed (published), got a certificate (with a photo copy), has an
    unpublished result elsewhere, a leave request, a recorded level certificate, a degree case,
    a competition entry and a notice."""
    cls = graduating_class(2, names=["王小磊", "李四"])
    learner = cls.learners[0]
    learner.district, learner.occupation_group, learner.platform = "瑞金市", "外卖员", "美团"
    learner.gender, learner.education, learner.political_status = "男", "高中", "群众"
    storage = Path(current_app.config["STORAGE_PATH"])
    (storage / "photos").mkdir(parents=True, exist_ok=True)
    photo = storage / "photos" / f"user-{learner.id}.jpg"
    photo.write_bytes(b"\xff\xd8\xff fake jpeg")
    learner.photo_path = f"photos/user-{learner.id}.jpg"
    issued = certificates.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued
    certificate = next(c for c in issued if c.learner_id == learner.id)
    assert certificate.photo_path
    # another cohort, results entered but not published
    other = make_class(1)
    enrol(learner, other.cohort)
    hidden = exams.create_assessment(other.cohort, actor=other.instructor)
    ids = [c.id for c in hidden.components]
    exams.record_scores(hidden, {(learner.id, ids[0]): "41", (learner.id, ids[1]): "42"}, actor=other.instructor, now=NOW)
    first_session = db.session.scalars(db.select(ClassSession).where(ClassSession.cohort_id == cls.cohort.id)).first()
    db.session.add(LeaveRequest(session_id=first_session.id, learner_id=learner.id, reason="孩子发烧去医院",
                                requested_at=NOW))
    db.session.add(ExternalLevelCertificate(learner_id=learner.id, number="S000036000001265100001", level=5,
                                            occupation="电工", issuer="某评价机构", issued_on=date(2026, 4, 1)))
    make_case(Stage.STUDYING, learner=learner, student_number="2026JX0001", note="单位同意脱产学习")
    entry(learner, event("2026-05-20", "网约配送员"), EntryStatus.APPROVED)
    db.session.add(Notice(user_id=learner.id, text="成人高考报名下周截止"))
    db.session.commit()
    return Person(cls, learner, certificate, hidden)
