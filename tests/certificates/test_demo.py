"""The demo step: certificates for the finished cohorts through the real rules, one revoked, one
reissued, and no PDF rendered at load time."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from academy.certificates import services
from academy.certificates.models import Certificate
from academy.common.timeutil import now_utc
from academy.demo.loader import load_demo

STEPS = ("academy.demo.base", "academy.attendance.demo", "academy.exams.demo", "academy.certificates.demo")


def test_the_demo_issues_the_finished_cohorts_certificates_with_one_revoked_and_one_reissued(db):
    ctx = load_demo(now=now_utc(), steps=STEPS)
    certificates = db.session.scalars(select(Certificate)).all()
    statuses = Counter(c.status for c in certificates)
    assert statuses["valid"] >= 10 and statuses["revoked"] == 1 and statuses["replaced"] == 1
    finished = {c.id for c in ctx.cohorts_in("finished")}
    assert {c.cohort_id for c in certificates} <= finished
    assert all(c.pdf_path is None and c.pdf_sha256 is None for c in certificates)  # rendered on first download
    for certificate in certificates:  # every one of them passes the rule it was issued under
        if certificate.replaces_id is None:
            row = services.learner_eligibility(certificate.learner, certificate.cohort, now=ctx.now)
            assert row.eligible, (certificate.holder_name, row.reasons)
    mine = services.learner_certificates(ctx.demo_learner)
    assert all(c.status == "valid" for c in mine)
