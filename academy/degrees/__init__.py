"""Degree upgrade (学历提升): programmes, cases through their stages, milestones, reminders.

* ``stages.py`` — routes, levels, stages, the transition table, month arithmetic and the pure
  next-milestone planner;
* ``models.py`` — Programme, KeyDate, DegreeCase, CaseEvent (append-only history), CourseResult
  (自学考试), Notice (in-app notices, usable by any module);
* ``services.py`` — every rule (entry rules, transitions, records, lists, figures, reminders);
* ``imports.py`` — the all-or-nothing import of the academy's ledger;
* ``views.py``/``forms.py``/``cli.py``/``demo.py`` — pages, forms, commands and demo data.
"""
