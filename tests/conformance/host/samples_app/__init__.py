"""An app reproducing the behaviour of the official Durable Functions samples (not a copy of them)."""
