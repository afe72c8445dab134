"""Models of the exams module."""
