"""The README stays true: its command examples run as written, and what a transcript shows is
what the command prints.

How README.md writes its examples (so that this test can read them):

- A fenced block whose lines start with `$ ` is a transcript: each `$ COMMAND` is run, and the
  lines after it, up to the next `$ ` or the block's end, are what it prints (stdout and
  stderr together). Durations (`0.81 s`, `1817.7 ms`) and rates (`12.3 trials/s`) vary from run
  to run, so they compare as "a duration" / "a rate"; everything else compares exactly.
- A fenced `sh` block without `$ ` lines lists commands to run as they stand (`\\` continues a
  line, `#` starts a comment); each must exit 0.
- `<!-- readme-test: skip (WHY) -->` on the line before a block: its commands are not run here
  (they train for minutes, or need a GPU); the reason shows in the skip.
- The README's first two blocks install the project (what CI itself runs), so they are not run
  here. `docs/language.md`'s examples are read by the same rules.

Each block runs in a fresh directory holding `zoo/` and `search/` as the repository has them and
nothing else, so outputs never meet the committed pictures in `docs/`, and commands of one block
run in order in the same directory (a later one may read what an earlier one wrote).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT

README = ROOT / "README.md"
LANGUAGE = ROOT / "docs" / "language.md"  # the language reference's examples are run too
INSTALL_BLOCKS = 2  # of the README
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((.*)\)\s*-->")
DURATION = re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s)\b")
RATE = re.compile(r"\b\d+(?:\.\d+)?(?= trials/s\b)")


@dataclass
class Example:
    line: int            # the line of the command in its document
    command: str
    expected: list[str] | None  # None: only the exit status is checked
    block: str           # DOCUMENT#N: commands of one block share a directory
    skip: str | None


def fenced_blocks(text: str):
    """(first line number, info string, lines, the line before the fence) per fenced block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            info, start, body = lines[i][3:].strip(), i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            yield start + 1, info, body, lines[start - 2] if start >= 2 else ""
        i += 1


def examples(text: str, doc: str = "README.md", skip_blocks: int = 0) -> list[Example]:
    out = []
    for n, (first, info, body, before) in enumerate(fenced_blocks(text)):
        if n < skip_blocks:
            continue
        n = f"{doc}#{n}"
        skip = SKIP.search(before)
        reason = skip.group(1) if skip else None
        if any(line.startswith("$ ") for line in body):
            current = None
            for k, line in enumerate(body):
                if line.startswith("$ "):
                    current = Example(first + k, line[2:], [], n, reason)
                    out.append(current)
                elif current is not None:
                    current.expected.append(line)
        elif info == "sh":
            joined, start = "", None
            for k, line in enumerate(body):
                code = line.split(" #", 1)[0].rstrip() if not line.lstrip().startswith("#") else ""
                if not code and not joined:
                    continue
                start = first + k if start is None else start
                if code.endswith("\\"):
                    joined += code[:-1] + " "
                    continue
                out.append(Example(start, (joined + code).strip(), None, n, reason))
                joined, start = "", None
    return out


EXAMPLES = examples(README.read_text(encoding="utf-8"), skip_blocks=INSTALL_BLOCKS) + (
    examples(LANGUAGE.read_text(encoding="utf-8"), "docs/language.md"))


def normalise(lines) -> list[str]:
    return [RATE.sub("<rate>", DURATION.sub("<duration>", line)).rstrip() for line in lines]


@pytest.fixture(scope="module")
def block_dirs(tmp_path_factory):
    made = {}

    def get(block: str) -> Path:
        if block not in made:
            d = tmp_path_factory.mktemp("readme_block")
            for name in ("zoo", "search"):
                (d / name).symlink_to(ROOT / name, target_is_directory=True)
            made[block] = d
        return made[block]
    return get


def test_the_readme_has_examples():
    transcripts = [e for e in EXAMPLES if e.expected is not None]
    assert len(transcripts) >= 5 and len(EXAMPLES) >= 10
    assert any(e.block.startswith("docs/language.md#") for e in transcripts)


@pytest.mark.parametrize("example", EXAMPLES,
                         ids=lambda e: f"{e.block.split('#')[0]}:{e.line}:{e.command[:50]}")
def test_readme_example(example: Example, block_dirs):
    if example.skip:
        pytest.skip(example.skip)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               COLUMNS="100", NO_COLOR="1")
    result = subprocess.run(["bash", "-c", example.command], cwd=block_dirs(example.block),
                            capture_output=True, text=True, env=env, timeout=600)
    printed = (result.stdout + result.stderr).splitlines()
    assert result.returncode == 0, "\n".join(printed)
    if example.expected is not None:
        assert normalise(printed) == normalise(example.expected)
