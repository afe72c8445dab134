"""Exams: assessments, components, attempts, gradebook, publication, score history."""
