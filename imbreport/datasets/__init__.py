"""Bundled example datasets (see SOURCES.md)."""
