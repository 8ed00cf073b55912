"""The request gates: headers, admin, allowlist, bans, rate limits and the access log."""
