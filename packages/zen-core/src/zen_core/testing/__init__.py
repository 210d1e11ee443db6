"""Test support for flavor packages: the conformance suite (needs ``zen-core[testing]``)."""
