"""What the TUI and the CLI both show: sanitised server text, labels, durations, wrapping."""
