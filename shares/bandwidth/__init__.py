"""How many bytes go out: a budget per client address over a sliding hour
(PASLA_CLIENT_BYTES_PER_HOUR) and a cap on the send rate (--max-rate, PASLA_MAX_RATE)."""
