"""What the server is doing: in-process transfer counters and Prometheus metrics."""
