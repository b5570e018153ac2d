"""Patches that make moto 5.2.5 behave like real AWS; one module per gap."""
