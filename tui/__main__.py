"""`python -m tui` runs the batchmon command line."""

from tui.cli.main import main

raise SystemExit(main())
