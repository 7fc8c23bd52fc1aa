"""Label operations on a Dataset: rename, merge and drop labels.

Example:
    >>> from picsellia_formats.model import Annotation, Asset, Dataset, Label
    >>> ds = Dataset([Label("car"), Label("truck"), Label("cat")],
    ...              [Asset("a.jpg", 9, 9, [Annotation("truck"), Annotation("cat")])])
    >>> counts = remap_labels(ds, {"car": "vehicle", "truck": "vehicle"}, drop=["cat"])
    >>> ds.label_names, [a.label for a in ds.assets[0].annotations], counts
    (['vehicle'], ['vehicle'], {'renamed': 1, 'dropped': 1})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import OptionError
from .model import Dataset, Label


def remap_labels(dataset: Dataset, mapping: Mapping[str, str], drop: Iterable[str] = ()) -> dict[str, int]:
    """Rename labels per `mapping` (several old names may map to one new name: a merge) and remove the
    objects of the labels in `drop`, in place. Label order follows the first occurrence of each new
    name; a merged label keeps the fields (group, id) of the first label merged into it.

    Returns how many objects were renamed and dropped. Raises ValueError when a name is both
    mapped and dropped.
    """
    drop = set(drop)
    both = drop & set(mapping)
    if both:
        raise OptionError(f"labels both renamed and dropped: {', '.join(sorted(both))}")
    labels: list[Label] = []
    by_name: dict[str, Label] = {}
    for label in dataset.labels:
        if label.name in drop:
            continue
        new = mapping.get(label.name, label.name)
        if new in by_name:
            continue
        kept = Label(new, label.group, label.id, label.keypoints, label.skeleton, label.extra)
        by_name[new] = kept
        labels.append(kept)
    renamed = dropped = 0
    for asset in dataset.assets:
        kept_annotations = []
        for ann in asset.annotations:
            if ann.label in drop:
                dropped += 1
                continue
            new = mapping.get(ann.label)
            if new is not None and new != ann.label:
                ann.label = new
                renamed += 1
            kept_annotations.append(ann)
        asset.annotations = kept_annotations
    dataset.labels = labels
    dataset.ensure_labels()
    return {"renamed": renamed, "dropped": dropped}


def labels_in_use(dataset: Dataset) -> list[Label]:
    """The dataset's labels, then the names its objects use without declaring them (in first-use order);
    the dataset is not modified. Every writer that needs the full label list takes it from here.

    Example:
        >>> from picsellia_formats.model import Annotation, Asset
        >>> ds = Dataset([Label("car")], [Asset("a.jpg", annotations=[Annotation("bus"), Annotation("car")])])
        >>> [label.name for label in labels_in_use(ds)], ds.label_names
        (['car', 'bus'], ['car'])
    """
    labels = list(dataset.labels)
    known = {label.name for label in labels}
    for asset in dataset.assets:
        for ann in asset.annotations:
            if ann.label not in known:
                known.add(ann.label)
                labels.append(Label(ann.label))
    return labels
