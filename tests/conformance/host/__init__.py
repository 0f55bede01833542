"""Functions host conformance: apps of our own reproducing the official Durable samples, and the HTTP API table."""
