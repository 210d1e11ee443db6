"""Artifact storage: an fsspec-backed store and the materializers that fill it."""
