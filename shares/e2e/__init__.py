"""End-to-end encrypted shares: RFC 8188 aes128gcm with the key in the URL fragment (docs/e2e.md)."""
