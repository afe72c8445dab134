"""Degree upgrade (学历提升): programmes, cases through their stages, milestones, reminders."""
