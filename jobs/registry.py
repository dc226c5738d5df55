"""Kinds of job: a name and what to do with one item. Apps register theirs in their `jobs` module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KINDS: dict[str, Kind] = {}


@dataclass(frozen=True)
class Kind:
    """run(job=, item=, record=) does one item. It calls record() inside the transaction that writes the
    item's work, so the two commit together (or it leaves that to the runner: then its work must be safe to
    redo, as an import's is). It raises a FaceRecError-like exception (with code and message) for an item
    that cannot be done; anything else is a crash, and the chunk is tried again."""

    name: str
    run: Callable


def kind(name: str):
    """Register the decorated function as the kind of job called name."""

    def register(run):
        KINDS[name] = Kind(name=name, run=run)
        return run

    return register


def get(name: str) -> Kind:
    return KINDS[name]
