"""Conformance tiers: the emulators checked against material Microsoft publishes."""
