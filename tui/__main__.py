"""`python -m tui` runs the batchmon command line."""

from tui.cli import main

raise SystemExit(main())
