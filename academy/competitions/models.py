"""Models of the competitions module."""
