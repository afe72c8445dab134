"""Reports: the administrators' dashboard, its breakdowns and .xlsx exports, and the
``flask --app academy report summary`` command — all from one service, ``services.build_report``.
"""
