"""The bytes on disk: pinning a shared file, pseudo filesystems, and pasla's own data directory."""
