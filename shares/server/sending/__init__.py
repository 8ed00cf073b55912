"""Bodies the server writes to the socket itself: files by sendfile, over TLS, and made as sent."""
