"""`pasla relay` and `--via`: shares served from behind NAT through a relay (docs/relay.md)."""
