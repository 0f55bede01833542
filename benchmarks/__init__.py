"""make bench: figures, never assertions."""
