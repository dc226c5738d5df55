"""Placeholder: the liveness decision arrives from its branch (issue16/liveness)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

STEPS = ("left", "right", "blink")


@dataclass(frozen=True)
class FrameMeasure:
    t: float
    box: tuple[int, int, int, int] | None = None
    points: Any = None


@dataclass(frozen=True)
class Verdict:
    passed: bool
    code: str
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def measure(image: bytes, t: float) -> FrameMeasure:
    raise NotImplementedError


def decide(measures: Sequence[FrameMeasure], steps: Sequence[str]) -> Verdict:
    raise NotImplementedError
