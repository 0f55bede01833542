"""The Microsoft cloud on loopback: sign-in, managed identity, Key Vault, Graph and the
API-driven inbound provisioning pipeline, reproduced closely enough that the real Azure SDK
clients can be tested against it with production hostnames.

Generic by design: it knows Microsoft's documented APIs, never this product's code.
"""
