"""Everything daphne- and Twisted-specific lives in this package."""
