"""Helpers used by three or more modules: identity numbers, masking, time, spreadsheets."""
