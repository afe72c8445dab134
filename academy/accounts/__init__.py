"""Accounts: people, roles, login, registration, profile."""
