"""Catalogue: courses (programmes) and cohorts (runs of a course), and their search."""
