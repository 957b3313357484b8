"""`python -m archdsl` runs the command line."""
from .cli import process_main

raise SystemExit(process_main())
