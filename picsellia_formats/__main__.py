"""``python -m picsellia_formats``."""

from .cli import run

if __name__ == "__main__":
    run()
