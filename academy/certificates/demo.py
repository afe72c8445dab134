"""Demo step: certificates for the finished cohorts' passing learners, one revoked, one reissued.

Runs after the attendance and exams steps (``academy.demo.loader.DEMO_STEPS``), so eligibility
comes from the demo's real attendance and published results, through the same service an
administrator uses. No PDF is rendered here: each is rendered on its first download (or batch
print) and stored with its hash.
"""

from __future__ import annotations

from academy.certificates import services
from academy.certificates.models import CertificateStatus, RevocationReason
from academy.demo.loader import DEMO_PASSWORD, DemoAccount

ACCOUNTS = (
    DemoAccount("13800000001", DEMO_PASSWORD, "管理员", "周晓梅",
                "工作台→证书管理：查找证书、勾选打印、作废与补发、印章设置；已结业班级的“证书”页：整班打印 PDF（进度条）"),
    DemoAccount("13800000003", DEMO_PASSWORD, "学员", "邱志明",
                "“我的”→我的证书：已结业网约配送员班的培训合格证书，查看、下载 PDF、复制查验链接"),
)


def load(ctx) -> None:
    """Issue the finished cohorts' certificates as the demo admin; revoke one, reissue another
    (never the demo learner's, so "我的证书" shows a valid one)."""
    issued = []
    for cohort in ctx.cohorts_in("finished"):
        report = services.issue_for_cohort(cohort, actor=ctx.admin, now=ctx.now)
        issued.extend(report.issued)
    demo_id = getattr(ctx.demo_learner, "id", None)
    others = [c for c in issued if c.status == CertificateStatus.VALID and c.learner_id != demo_id]
    if len(others) >= 2:
        services.revoke(others[-1], reason=RevocationReason.ISSUED_IN_ERROR,
                        note="演示：发证名单核对有误，作废", actor=ctx.admin, now=ctx.now)
        services.reissue(others[-2], note="演示：学员遗失证书，补发", actor=ctx.admin, now=ctx.now)
    ctx.extra["certificates.issued"] = issued
