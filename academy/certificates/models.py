"""Models of the certificates module."""
