"""One module per command of the command line, each with `add_parser(subparsers)` (its
arguments, and `run` as the parser's default) and `run(args)`; `common.py` holds what several
commands share. `archdsl/cli.py` lists them."""
