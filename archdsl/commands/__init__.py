"""One module per command of the command line; each has run(args) (and add_parser(sub) when it
registers itself)."""
