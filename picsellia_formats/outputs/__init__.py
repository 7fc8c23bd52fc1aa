"""Outputs: one policy (refuse a foreign output, replace our own whole), atomic swaps, temp cleanup.

See `policy` for the rules, `swap` for the crash-safe replacement, `temps` for temporary paths
and signals, `side` for side outputs tied to a conversion, `manifest` for the folder marker.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "labels"
    >>> with output_dir(out, "yolo") as tmp:
    ...     _ = (tmp / "a.txt").write_text("0 0.5 0.5 0.1 0.1\\n")
    >>> (out / "a.txt").exists()
    True
"""

from .manifest import MARKER, fingerprint, read_marker, write_marker
from .policy import (
    check_dir,
    check_file,
    check_file_set,
    commit_file_set,
    existing_set,
    file_set_matcher,
    output_dir,
    output_file,
    prepare,
)
from .side import side_output_dir, transaction
from .swap import recover
from .temps import clean_stale, new_temp_path, release

__all__ = [
    "MARKER", "check_dir", "check_file", "check_file_set", "clean_stale", "commit_file_set", "existing_set",
    "file_set_matcher", "fingerprint", "new_temp_path", "output_dir", "output_file", "prepare", "read_marker",
    "recover", "release", "side_output_dir", "transaction", "write_marker",
]
