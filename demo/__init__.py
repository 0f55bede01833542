"""make demo / make serve: the whole product on the two local emulators."""
