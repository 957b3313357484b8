"""No code execution: `use` reads only .arch files, nothing a user writes is handed to
Python's eval/exec/pickle."""
from __future__ import annotations

import re

from helpers import LOCATED, PACKAGE, net, one_error, write


def test_use_reads_only_arch_files(run_cli, tmp_path):
    marker = tmp_path / "executed"
    evil = f"open({str(marker)!r}, 'w').write('x')\n"
    write(tmp_path, "evil.py", evil)
    write(tmp_path, "evil", evil)
    for target in ("evil.py", "evil", "evil.py.txt", "../evil.py"):
        f = write(tmp_path, "m.arch", f'use "{target}"\n' + net("relu"))
        code, out, err = run_cli("check", f)
        msg = one_error(code, err)
        assert "use reads only .arch files" in msg and LOCATED.match(msg), msg
    assert not marker.exists()


def test_python_in_a_file_or_an_expression_is_never_run(run_cli, tmp_path):
    marker = tmp_path / "executed"
    payload = f"__import__('os').system('touch {marker}')"
    f = write(tmp_path, "m.arch", payload + "\n")
    code, out, err = run_cli("check", f)
    assert LOCATED.match(one_error(code, err))
    code, out, err = run_cli("eval", payload.replace("'", '"'))
    assert "invalid expression" in one_error(code, err)  # no attribute access in the language
    code, out, err = run_cli("eval", '__import__("os")')
    assert "unknown name '__import__'" in one_error(code, err)
    f = write(tmp_path, "t.arch", net('"x{__import__}": relu'))
    code, out, err = run_cli("check", f)
    assert "unknown name '__import__'" in one_error(code, err)
    assert not marker.exists()


def test_the_language_path_has_no_eval_exec_or_pickle():
    """The modules that read user input never hand it to Python's eval/exec/pickle."""
    pattern = re.compile(r"(?<!def )(?<![.\w])(eval|exec|compile)\(|__import__|\bpickle\b"
                         r"|\bmarshal\b|\bruntime_checkable\b")
    for name in ("syntax", "elaborate", "loader", "ops", "values", "solve", "analysis",
                 "network", "errors"):
        text = (PACKAGE / f"{name}.py").read_text()
        assert not pattern.search(text), (name, pattern.search(text))
