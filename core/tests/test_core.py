"""The core package holds what every app shares; the feature apps meet entries only at its public surface."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APPS = ("entries", "audit", "attendance", "jobs", "hr")


def imported_modules(package: str):
    """Each absolute name a package's code (migrations and tests aside) imports (`from a import b`: a.b)."""
    for path in sorted((REPO / package).rglob("*.py")):
        if "migrations" in path.parts or "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield from ((path.relative_to(REPO), f"{node.module}.{alias.name}") for alias in node.names)
            elif isinstance(node, ast.Import):
                yield from ((path.relative_to(REPO), alias.name) for alias in node.names)


def test_core_depends_on_no_app():
    reached = [(path, module) for path, module in imported_modules("core") if module.split(".")[0] in APPS]
    assert reached == []


def test_audit_attendance_and_hr_use_neither_the_api_errors_nor_settings_of_entries():
    private = ("entries.api", "entries.exceptions", "entries.conf")
    reached = [(path, module) for package in ("audit", "attendance", "hr") for path, module in imported_modules(package)
               if module.startswith(private)]
    assert reached == []
