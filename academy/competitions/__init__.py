"""Qianneng Cup (虔能杯): editions, events, registration, draws, judging, rankings, awards."""
