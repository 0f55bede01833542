"""A small v2-model Functions app that exercises the functions host emulator (not the product)."""
