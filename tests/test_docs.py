"""Docs that cannot drift: every ``form3 …`` command line in the README and ``docs/`` parses
with the real command-line parser, and every relative link resolves."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from flows.cli import build_parser
from tests.conftest import REPO

pytestmark = pytest.mark.fast

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_SPAN = re.compile(r"`(?:\.venv/bin/)?(form3 [^`]+)`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_SHELL_END = {"|", "||", "&&", ";", ">", ">>", "2>", "&"}


def _commands(text: str) -> list[tuple[str, bool]]:
    """(command line, whole): lines of code blocks are whole commands; a code span in the text
    may be a command with placeholders, or only its start (`form3 retry`)."""
    found = []
    for block in _FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            if line.lstrip().startswith("#"):  # a shell comment (or printed output), not a command
                continue
            at = line.find("form3 ")
            if at >= 0 and (at == 0 or line[at - 1] in " /"):
                found.append((line[at:].split(" #", 1)[0], True))
    prose = _FENCE.sub("", text)
    found += [(span, False) for span in _SPAN.findall(prose.replace("\n", " "))]
    return found


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _check(line: str, whole: bool) -> str | None:
    """What is wrong with one command line (None: it parses)."""
    words = []
    for word in shlex.split(line.replace("$(hostname -f)", "HOST"), comments=True)[1:]:
        if word in _SHELL_END:
            break
        words.append(word)
    parser = build_parser()
    path, sub = [], _subparsers(parser)
    if words and words[0] in {s for action in parser._actions for s in action.option_strings}:
        return None  # form3 --version
    while words and sub:  # form3 profile show NAME
        name = words[0]
        if name not in sub:
            return f"no subcommand {' '.join(path + [name])!r}"
        path.append(words.pop(0))
        parser, sub = sub[name], _subparsers(sub[name])
    flags = {s for action in parser._actions for s in action.option_strings}
    unknown = [w.split("=")[0] for w in words if w.startswith("--") and w.split("=")[0] not in flags]
    if unknown:
        return f"form3 {' '.join(path)} has no {', '.join(unknown)}"
    if whole:
        try:
            build_parser().parse_args(path + words)
        except SystemExit:
            return "the parser refuses it (see its message above)"
    return None


def test_every_form3_command_in_the_docs_parses() -> None:
    problems, seen = [], 0
    for page in PAGES:
        for line, whole in _commands(page.read_text()):
            seen += 1
            problem = _check(line, whole)
            if problem:
                problems.append(f"{page.relative_to(REPO)}: `{line}`: {problem}")
    assert seen >= 40, seen  # the README and docs name form3 commands throughout
    assert not problems, "\n".join(problems)


def test_every_relative_link_resolves() -> None:
    broken, seen = [], 0
    for page in PAGES:
        for target in _LINK.findall(_FENCE.sub("", page.read_text())):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            seen += 1
            if not (page.parent / target.split("#", 1)[0]).exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert seen >= 30, seen
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("line, problem", [
    ("form3 run data/form_3_10.csv --checkpoints x", "form3 run has no --checkpoints"),
    ("form3 profile list", "no subcommand 'profile list'"),
    ("form3 retry", "the parser refuses it (see its message above)"),
])
def test_the_check_finds_a_wrong_command(line: str, problem: str) -> None:
    assert _check(line, True) == problem
