"""The README and docs/: a newcomer's README, and every relative link and anchor in them leads somewhere."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Anchors of a page's headings; a repeated heading gets -1, -2, … as on GitHub."""
    found, counts = set(), {}
    for heading in re.findall(r"^#+ (.+)$", FENCE.sub("", page.read_text()), re.M):
        base = slug(heading)
        found.add(f"{base}-{counts[base]}" if base in counts else base)
        counts[base] = counts.get(base, 0) + 1
    return found


def links(page: Path) -> list[str]:
    return [target for target in LINK.findall(FENCE.sub("", page.read_text()))
            if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_points_to_a_file_and_every_anchor_to_a_heading(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)}: {broken}"


def test_the_readme_stays_a_newcomers_page_and_points_to_every_docs_page():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) < 150
    assert "make run" in readme and "make test" in readme
    linked = {(REPO / target.partition("#")[0]).resolve() for target in links(REPO / "README.md")}
    assert {page for page in (REPO / "docs").glob("*.md")} <= linked


def test_every_decision_record_is_listed_in_the_index():
    index = (REPO / "docs" / "decisions" / "README.md").read_text()
    records = [page.name for page in (REPO / "docs" / "decisions").glob("[0-9]*.md")]
    assert records and all(f"]({name})" in index for name in records)


MANAGE = re.compile(r"(?P<python>[^\s`(]*python3?\s+)?manage\.py\s+(?P<command>[a-z][a-z_]*)(?P<rest>[^`\n]*)")
SHELL_END = re.compile(r"\s#|&&|\|\||[|;>]|\s&(\s|$)")


def manage_lines() -> list[tuple[str, int, re.Match]]:
    """Every `manage.py COMMAND …` in the README and docs/: (page, line number, match)."""
    return [(str(page.relative_to(REPO)), number, found)
            for page in PAGES for number, line in enumerate(page.read_text().splitlines(), 1)
            for found in MANAGE.finditer(line)]


def test_every_manage_py_command_in_the_docs_runs_as_written_with_the_projects_python():
    """`python manage.py` fails on a fresh machine (no Django outside .venv): commands name .venv/bin/python,
    and a line that begins with a bare `manage.py` is an instruction nobody can run."""
    wrong = [f"{page}:{number}: {found.group(0).strip()}" for page, number, found in manage_lines()
             if (found["python"] and not re.search(r"(^|/)\.venv/bin/python\s+$", found["python"]))
             or (not found["python"] and found.string[:found.start()].strip(" $") == "")]
    assert not wrong, "say .venv/bin/python manage.py …:\n" + "\n".join(wrong)


@pytest.mark.django_db(databases=[])
def test_every_manage_py_command_and_option_in_the_docs_exists():
    from django.core.management import get_commands, load_command_class

    commands, wrong = get_commands(), []
    for page, number, found in manage_lines():
        name = found["command"]
        if name not in commands:
            wrong.append(f"{page}:{number}: no command {name!r}")
            continue
        parser = load_command_class(commands[name], name).create_parser("manage.py", name)
        words = SHELL_END.split(found["rest"])[0].replace("[", " ").replace("]", " ").split()
        wrong += [f"{page}:{number}: {name} has no option {word}" for word in words
                  if word.startswith("-") and word.split("=")[0] not in parser._option_string_actions]
    assert not wrong, "\n".join(wrong)


def test_the_readme_says_how_to_run_commands_and_how_debug_and_secret_key_apply():
    readme = (REPO / "README.md").read_text()
    assert ". .venv/bin/activate" in readme and "DEBUG=1 .venv/bin/python manage.py" in readme
    assert "Set SECRET_KEY (or DEBUG=1 for local development)." in readme  # the refusal a newcomer meets
    from facerec import settings

    assert "Set SECRET_KEY (or DEBUG=1 for local development)." in Path(settings.__file__).read_text()
    assert "## HR quick start" in readme and "TIME_ZONE" in readme
