"""What a label carries besides its name, pushed as the SDK does: keypoint skeletons
(``DatasetVersion._ensures_skeleton_set``: ``GET labels/skeleton`` then ``POST label/{id}/skeleton`` when
different) and label groups (``create_label_group`` then ``Label.set_group``).

Example:
    >>> import tempfile
    >>> from picsellia_formats.report import Report
    >>> from picsellia_formats.sync import Client
    >>> from picsellia_formats.sync.emulator import Emulator
    >>> with Emulator(tempfile.mkdtemp()) as emu:
    ...     c = Client(emu.url, emu.token)
    ...     ds = c.get_or_create_dataset("d"); v = c.get_or_create_version(ds["id"], "v1", "KEYPOINT")
    ...     ids = c.bulk_labels(v["id"], ["person"])
    ...     push_label_details(c, v["id"], {"person": Label("person", keypoints=["a", "b"], skeleton=[[1, 2]])},
    ...                        ids, Report())
    ...     c.skeletons(v["id"])[ids["person"]]
    {'vertices': ['a', 'b'], 'edges': [[1, 2]]}
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model import Label
from ..report import Report
from .client import Client


def push_label_details(client: Client, version_id: str, labels: Mapping[str, Label], label_ids: Mapping[str, str],
                       report: Report) -> None:
    """Set the skeleton of every keypoint label and the group of every grouped label of `labels`."""
    keypoint_labels = [lb for lb in labels.values() if lb.keypoints and lb.name in label_ids]
    if keypoint_labels:
        have = client.skeletons(version_id)
        for label in keypoint_labels:
            vertices = [str(v) for v in label.keypoints or ()]
            edges = [[int(a), int(b)] for a, b in label.skeleton or ()]
            now = have.get(label_ids[label.name])
            if now is None or now.get("vertices") != vertices or now.get("edges") != edges:
                client.set_skeleton(label_ids[label.name], vertices, edges)
    grouped = [lb for lb in labels.values() if lb.group and lb.name in label_ids]
    if grouped:
        groups = {str(g.get("name")): str(g["id"]) for g in client.label_groups(version_id)}
        for label in grouped:
            group = str(label.group)
            if group not in groups:
                groups[group] = str(client.create_label_group(version_id, group)["id"])
            client.set_label_group(label_ids[label.name], groups[group])
