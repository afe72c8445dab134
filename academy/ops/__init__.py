"""Operations: backups and restores, background worker plumbing."""
