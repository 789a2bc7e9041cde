"""One module per command (or family): each function takes Options and returns an exit code."""
