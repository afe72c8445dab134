"""Privacy (PIPL, 个人信息保护法): unmasking personal data, exporting one person's data, and
anonymising an account while keeping issued certificates verifiable and the figures intact."""
