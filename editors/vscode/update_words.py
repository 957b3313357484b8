"""Write the word lists of the TextMate grammar from the language's own tables.

`syntaxes/archdsl.tmLanguage.json` is written by hand except for the repository entries named
in `ENTRIES`: the reserved words (by kind), the op registry's names and aliases, and the
evaluator's builtin functions, which this script takes from `archdsl.highlight.words()` (the
lists the Pygments lexer uses). Run it after an op or builtin is added or renamed:

    python editors/vscode/update_words.py          # rewrite the grammar's word lists
    python editors/vscode/update_words.py --check  # exit 1 if they are out of date (a test)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from archdsl import highlight

GRAMMAR = Path(__file__).resolve().parent / "syntaxes" / "archdsl.tmLanguage.json"
LOGICAL = frozenset({"and", "or", "not"})
IMPORT = frozenset({"use"})


def entries() -> dict:
    """Repository entry name -> (scope, words)."""
    w = highlight.words()
    declarations = w.keywords & highlight.DECLARATIONS
    return {
        "constants": ("constant.language.archdsl", w.constants),
        "declarations": ("storage.type.archdsl", declarations),
        "import": ("keyword.control.import.archdsl", w.keywords & IMPORT),
        "logical": ("keyword.operator.logical.archdsl", w.keywords & LOGICAL),
        "control": ("keyword.control.archdsl", w.keywords - declarations - IMPORT - LOGICAL),
        "ops": ("support.function.op.archdsl", w.ops),
        "builtins": ("support.function.builtin.archdsl", w.builtins),
    }


def word_rule(scope: str, words) -> dict:
    # A word is a whole NAME, never the start of a longer one. No look-behind: as in Lark's
    # lexer, a NAME may follow digits directly (`3x` is 3 and the keyword x).
    alternation = "|".join(sorted(words))
    return {"match": f"(?:{alternation})(?![A-Za-z0-9_])", "name": scope}


def updated(grammar: dict) -> dict:
    repository = dict(grammar["repository"])
    for name, (scope, words) in entries().items():
        repository[name] = word_rule(scope, words)
    return {**grammar, "repository": repository}


def render(grammar: dict) -> str:
    return json.dumps(grammar, indent=2, ensure_ascii=False) + "\n"


def main(argv) -> int:
    current = GRAMMAR.read_text(encoding="utf-8")
    wanted = render(updated(json.loads(current)))
    if argv == ["--check"]:
        if current != wanted:
            print(f"{GRAMMAR}: word lists out of date; run python {Path(__file__).name}",
                  file=sys.stderr)
            return 1
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    if current != wanted:
        GRAMMAR.write_text(wanted, encoding="utf-8")
        print(f"updated {GRAMMAR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
