"""Picsellia annotation JSON (the platform's ``images`` / ``annotations`` / ``categories`` file), read
and written without loss.

The schema, field by field, is in ``docs/reference/picsellia-json.md``. In short: ``images`` lists
the pictures (``external_picture_url`` is the file name, ``internal_picture_id`` the platform id);
``annotations`` holds one record per annotated picture with its shapes (``rectangle``, ``polygon``,
``classification``, ``line``, ``point`` and our extensions ``mask`` and ``keypoints``), object Q&A
(``qa``), image Q&A (``image_qa``), review flags (``is_accepted``, ``is_reviewed``, ``is_skipped``)
and ``time_spent`` / ``nb_labels``; ``categories`` lists the labels by name, in order.

Statuses: the flags map to `Asset.status` as ``PENDING`` = (accepted, reviewed, skipped) all false,
``SKIPPED`` = skipped only, ``ACCEPTED`` = accepted and reviewed, ``REFUSED`` = reviewed only; any
other combination keeps its flags as read (see `status_from_flags`) and is written back unchanged.
Keys this module does not know, at every level, are kept in ``extra["picsellia"]`` and written back.

Example:
    >>> import tempfile, pathlib
    >>> from picsellia_formats.formats import coco
    >>> ds = coco.read("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "picsellia.json"
    >>> write(ds, out)
    >>> back = read(out)
    >>> len(back), back.num_annotations, back.label_names
    (10, 12, ['cat'])
"""

from __future__ import annotations

from .. import FormatSpec, Option
from ..capabilities import ALL
from .read import read
from .schema import FLAG_KEYS, NAME, detect, flags_of_status, status_from_flags
from .write import write

__all__ = ["FLAG_KEYS", "FORMAT", "NAME", "detect", "flags_of_status", "read", "status_from_flags", "write"]

FORMAT = FormatSpec(
    name=NAME,
    description="Picsellia annotation JSON (images, per-picture shape records with Q&A and review "
                "status, categories)",
    detect=detect,
    read=read,
    write=write,
    hint_keys=frozenset(("keys", "raw", "always", "key_order")),
    # every kind and field of the model (the writer reports what --picsellia-platform-only and
    # --picsellia-masks leave out, and the secondary geometries of an object)
    holds=ALL,
    output="file",
    default_file_name="annotations.json",
    read_options=(),
    write_options=(
        Option("masks", "--picsellia-masks", "masks in Picsellia JSON: rle (default, the mask shape "
               "extension), polygon or box", type=str, choices=("rle", "polygon", "box")),
        Option("platform_only", "--picsellia-platform-only", "write only the shapes and keys the "
               "Picsellia platform documents (lossy parts are reported)"),
    ),
)
