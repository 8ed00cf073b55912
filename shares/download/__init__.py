"""One download: finding the share, deciding the answer, slots, history rows and the bytes."""
