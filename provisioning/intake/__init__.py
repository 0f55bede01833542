"""Where HR data enters the app and becomes an `HrEvent`.

HR systems rarely send our event JSON. The modules here take what they do send — a vendor's notification, a
document shaped by an integration the customer built, a roster row — verify the sender and turn it into the events
the workflows run. `mapping` is the declarative mapping language, `mapped` the generic webhook that applies it.
"""
