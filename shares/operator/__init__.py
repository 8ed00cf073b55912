"""The operator's side: terminal, notifications, processes, leases and housekeeping."""
