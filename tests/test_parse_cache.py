"""The disk cache of parsed shipped files (parse_cache.py): what it gives back is what Lark's
parse of the same text gives, an entry is never used for another text, and a broken or
unwritable cache only means parsing again."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archdsl import parse_cache, syntax
from archdsl.errors import ArchError
from archdsl.loader import STDLIB, ZOO

SHIPPED = sorted(STDLIB.glob("*.arch")) + sorted(ZOO.glob("*.arch"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHDSL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def entries(cache: Path) -> list:
    return sorted(cache.glob("parsed-*/*.pickle"))


def test_every_shipped_file_read_back_is_its_parse(cache):
    for f in SHIPPED:
        text = f.read_text()
        parse_cache.parsed(text, str(f), syntax.parse)  # written
    assert len(entries(cache)) == len(SHIPPED)
    for f in SHIPPED:
        text = f.read_text()
        got = parse_cache.parsed(text, str(f), lambda *a: 1 / 0)  # read, not parsed
        assert got == syntax.parse(text, str(f)), f


def test_an_entry_is_never_used_for_another_text(cache):
    f = min(STDLIB.glob("*.arch"))
    text = f.read_text()
    parse_cache.parsed(text, str(f), syntax.parse)
    edited = text + "\n# one more line\n"
    got = parse_cache.parsed(edited, str(f), syntax.parse)
    assert got == syntax.parse(edited, str(f))
    assert len(entries(cache)) == 2


def test_a_corrupt_entry_is_parsed_again_and_replaced(cache):
    f = ZOO / "resnet152.arch"
    text = f.read_text()
    parse_cache.parsed(text, str(f), syntax.parse)
    (entry,) = entries(cache)
    entry.write_bytes(entry.read_bytes()[:40])  # truncated, as by a full disk
    assert parse_cache.parsed(text, str(f), syntax.parse) == syntax.parse(text, str(f))
    assert parse_cache.parsed(text, str(f), lambda *a: 1 / 0) == syntax.parse(text, str(f))


def test_a_syntax_error_is_raised_and_nothing_written(cache):
    f = ZOO / "resnet152.arch"
    with pytest.raises(ArchError) as e:
        parse_cache.parsed("network (\n", str(f), syntax.parse)
    assert e.value.span.line == 1
    assert entries(cache) == []


def test_user_files_are_not_kept(cache, tmp_path):
    mine = tmp_path / "mine.arch"
    text = (ZOO / "resnet152.arch").read_text()
    assert parse_cache.parsed(text, str(mine), syntax.parse) == syntax.parse(text, str(mine))
    assert entries(cache) == []


def test_an_unwritable_cache_is_no_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"  # a cache directory that cannot be made, even by root
    blocker.write_text("")
    monkeypatch.setenv("ARCHDSL_CACHE_DIR", str(blocker / "cache"))
    f = ZOO / "resnet152.arch"
    text = f.read_text()
    assert parse_cache.parsed(text, str(f), syntax.parse) == syntax.parse(text, str(f))
    assert blocker.read_text() == ""


def test_a_new_parser_drops_the_entries_of_the_old_one(cache):
    old = cache / "parsed-0123456789abcdef01234567"
    old.mkdir(parents=True)
    (old / "x.pickle").write_bytes(b"stale")
    f = ZOO / "resnet152.arch"
    parse_cache.parsed(f.read_text(), str(f), syntax.parse)
    assert not old.exists()
    assert len(entries(cache)) == 1


def test_a_second_process_summarises_the_same_from_the_cache(cache):
    run = [sys.executable, "-m", "archdsl", "summary", "zoo:resnet50"]
    first = subprocess.run(run, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert entries(cache)
    second = subprocess.run(run, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "25,557,032" in second.stdout  # torchvision's resnet50 (tests/reference)


def test_a_process_reading_every_file_from_the_cache_does_not_import_lark(cache):
    code = ("import sys; from archdsl.network import load; net = load('zoo:resnet18'); "
            "print(net.totals()['params'], 'lark' in sys.modules)")
    run = [sys.executable, "-c", code]
    first = subprocess.run(run, capture_output=True, text=True, check=True).stdout.split()
    second = subprocess.run(run, capture_output=True, text=True, check=True).stdout.split()
    assert first == ["11689512", "True"]  # torchvision's resnet18 (tests/reference); parsed
    assert second == ["11689512", "False"]  # every file read back: Lark not even imported
