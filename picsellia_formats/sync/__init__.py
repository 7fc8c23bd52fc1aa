"""Sync with the Picsellia platform: `push` a dataset and its images, `pull` one back in any format.

The client (`Client`) speaks the platform's REST API (reference §5) with retries, timeouts and a
token that never shows; `picsellia_formats.sync.emulator` is a local emulator of that API subset used
by the tests, the benchmark and demos (``python -m picsellia_formats emulator``). The image bytes move on
this process's threads or, with ``engine="dask"``, on a Dask cluster's workers, which get presigned URLs and
never the token (`transfers`).

Example:
    >>> import tempfile
    >>> from picsellia_formats.sync.emulator import Emulator
    >>> import picsellia_formats as pf
    >>> ds = pf.Dataset()
    >>> with Emulator(tempfile.mkdtemp()) as emu:
    ...     client = Client(emu.url, emu.token)
    ...     push(ds, tempfile.mkdtemp(), "demo", "v1", client=client, quiet=True).dataset_name
    'demo'
"""

from .client import Client, PlatformError, RetryPolicy, SyncError, Timeouts
from .pull import PullResult, fetch_dataset, pull
from .push import PushResult, infer_type, push

__all__ = [
    "Client",
    "PlatformError",
    "PullResult",
    "PushResult",
    "RetryPolicy",
    "SyncError",
    "Timeouts",
    "fetch_dataset",
    "infer_type",
    "pull",
    "push",
]
