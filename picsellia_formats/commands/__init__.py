"""CLI sub-commands, one module each (see `picsellia_formats.cli`)."""
