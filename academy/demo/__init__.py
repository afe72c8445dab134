"""The product's own demo data: a small academy with courses, cohorts at every stage, staff and
about 300 learners, loaded by ``flask --app academy demo``.

``loader.load_demo`` runs the steps listed in ``loader.DEMO_STEPS`` in order, in one transaction.
``academy.demo.base`` is the first step; each feature module may add ``<module>/demo.py`` with
``def load(ctx: DemoContext) -> None`` (and optionally ``ACCOUNTS``, a tuple of ``DemoAccount``)
to build on the objects the earlier steps created.
"""
