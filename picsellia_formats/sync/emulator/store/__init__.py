"""The emulator's state: organizations, datalake data, datasets, versions, assets, labels, tags,
annotations and shapes in SQLite, object bytes in files under the data folder.

Every method returns plain dicts shaped like the platform's JSON (reference §5 and §1.3) or raises
`ErrorResponse` carrying the status code and the ``{"message", "detail"}`` body. One connection guarded
by a lock: the emulator favours being obviously correct over being concurrent. The parts live in one
module each (``datalake``, ``datasets``, ``annotations``) over ``base``; `Store` joins them.

Example:
    >>> import tempfile
    >>> store = Store(tempfile.mkdtemp())
    >>> store.find_dataset(store.organization_id, name="x")
    Traceback (most recent call last):
    ...
    picsellia_formats.sync.emulator.store.base.ErrorResponse: 404 Dataset not found
"""

from __future__ import annotations

from .annotations import AnnotationMixin
from .base import (
    ANNOTATION_STATUSES,
    IMPORT_TYPES,
    INFERENCE_TYPES,
    KIND_TO_KEY,
    MAX_PAGE,
    SHAPE_KINDS,
    ErrorResponse,
    Page,
    check_uuid,
)
from .datalake import DataMixin
from .datasets import DatasetMixin


class Store(AnnotationMixin, DatasetMixin, DataMixin):
    """The persistent state of one emulator, in ``<data_dir>/emulator.sqlite3`` and ``<data_dir>/objects/``.

    A first start seeds one user (token), one organization with its connector and default datalake;
    later starts reuse them, so the state and the token survive a restart.
    """


__all__ = [
    "ANNOTATION_STATUSES", "IMPORT_TYPES", "INFERENCE_TYPES", "KIND_TO_KEY", "MAX_PAGE", "SHAPE_KINDS",
    "ErrorResponse", "Page", "Store", "check_uuid",
]
