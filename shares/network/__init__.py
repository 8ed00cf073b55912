"""Reaching recipients: printed addresses, certificates and client certificates."""
