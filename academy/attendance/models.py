"""Models of the attendance module."""
