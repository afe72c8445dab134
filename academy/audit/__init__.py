"""The audit log: security- and data-relevant events in one append-only table."""
