"""Plumbing every app shares."""
