"""Certificates: issuing, serial numbers, PDF rendering, batch printing, public verification."""
