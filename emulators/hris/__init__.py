"""The HR systems the product connects to (BambooHR, HiBob, Personio), emulated on their production hostnames
behind the Entra emulator's CONNECT proxy: their APIs, their signed outgoing webhooks and a control API."""
