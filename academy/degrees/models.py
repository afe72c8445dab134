"""Models of the degrees module."""
