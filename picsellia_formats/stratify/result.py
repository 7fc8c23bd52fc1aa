"""`SplitResult`: the assignment of a split, its quality figures, sub-datasets, platform logs, JSON.

Example:
    >>> import picsellia_formats as pf
    >>> ds = pf.read("fixtures/picsellia_coco_det/annotations.json")
    >>> r = pf.split(ds, [0.8, 0.2])
    >>> r.images, r.summary()["missing_classes"]
    ({'train': 15, 'val': 4}, [])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from ..errors import OptionError
from ..model import Dataset
from ..splits import canonical_split

if TYPE_CHECKING:
    import scipy.sparse as sp

#: Split names the platform reserves a log for (``experiment.log(name=..., type="bar")``).
#: Keyed by the canonical split (`picsellia_formats.splits`), so every alias of a split logs under one name.
PLATFORM_LOG_NAMES = {"train": "train-split", "test": "test-split", "val": "eval-split"}


@dataclass
class SplitResult:
    """The assignment of every asset to a split, and how good it is.

    ``index[i]`` is the split (position in `names`) of ``dataset.assets[i]``. Per split and
    class: `objects`, `deviation` (objects − ratio × total); per class: `error` (half the sum
    over splits of |share − ratio|, i.e. |train share − p| for two splits), `floor` (the
    smallest error that class can reach given how its objects sit in images) and
    `floor_presence` (the same when the class must be in every split). `milp` holds the exact
    solver's status, objective, bound and gap when it ran.
    """

    names: list[str]
    ratios: np.ndarray
    index: np.ndarray
    classes: list[str]
    counts: sp.csr_matrix
    floor: np.ndarray
    floor_presence: np.ndarray
    method: str
    seed: int
    objective: float
    lower_bound: float
    milp: dict[str, Any] | None
    seconds: float
    presence_required: bool = True
    dataset: Dataset | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        k = len(self.names)
        self._objects = np.zeros((k, len(self.classes)), dtype=np.int64)
        self._present = np.zeros((k, len(self.classes)), dtype=np.int64)
        row_of = np.repeat(self.index.astype(np.int64), np.diff(self.counts.indptr))
        np.add.at(self._objects, (row_of, self.counts.indices), self.counts.data)
        np.add.at(self._present, (row_of, self.counts.indices), 1)
        self._images = np.bincount(self.index, minlength=k)
        self._totals = self._objects.sum(axis=0)
        self._per_class = self._present.sum(axis=0)

    # -- per split ---------------------------------------------------------------------------
    @property
    def images(self) -> dict[str, int]:
        """Images per split."""
        return {n: int(v) for n, v in zip(self.names, self._images)}

    @property
    def objects(self) -> dict[str, dict[str, int]]:
        """Objects per split and class."""
        return {n: dict(zip(self.classes, row.tolist())) for n, row in zip(self.names, self._objects)}

    @property
    def images_per_class(self) -> dict[str, dict[str, int]]:
        """Images holding each class, per split."""
        return {n: dict(zip(self.classes, row.tolist())) for n, row in zip(self.names, self._present)}

    @property
    def deviation(self) -> dict[str, dict[str, float]]:
        """Objects minus target (ratio × class total), per split and class."""
        dev = self._objects - self.ratios[:, None] * self._totals[None, :]
        return {n: dict(zip(self.classes, np.round(row, 6).tolist())) for n, row in zip(self.names, dev)}

    @property
    def assignment(self) -> list[str]:
        """Split name of each asset, in dataset order."""
        names = self.names
        return [names[i] for i in self.index.tolist()]

    def by_file_name(self) -> dict[str, str]:
        """Asset file name → split name (a file name listed twice keeps its last asset's split)."""
        if self.dataset is None:
            raise OptionError("this result has no dataset attached")
        return {a.file_name: s for a, s in zip(self.dataset.assets, self.assignment)}

    # -- quality -----------------------------------------------------------------------------
    @property
    def error(self) -> np.ndarray:
        """Per class: half the sum over splits of |share − ratio| (0 for classes without objects)."""
        share = self._objects / np.maximum(self._totals, 1)[None, :]
        return np.where(self._totals > 0, 0.5 * np.abs(share - self.ratios[:, None]).sum(axis=0), 0.0)

    def missing(self) -> tuple[list[str], list[str]]:
        """(classes absent from a split they could be in, classes in too few images for every split)."""
        reachable = min(len(self.names), int((self._images > 0).sum()))
        need = np.minimum(self._per_class, reachable)
        have = (self._present > 0).sum(axis=0)
        avoidable = [c for c, n, h, k in zip(self.classes, need, have, self._per_class) if k >= 2 and h < n]
        one_sided = [c for c, k in zip(self.classes, self._per_class) if 0 < k < len(self.names)]
        return avoidable, one_sided

    def summary(self) -> dict[str, Any]:
        """The quality figures: errors (mean, max, max over classes with >= 20 objects) beside
        their floors, image-count deviation, missing classes. No timing (`seconds` is an attribute):
        ``split.json`` holds the same bytes for the same input."""
        scored = self._totals >= 2
        big = self._totals >= 20
        err = self.error
        n = max(int(self.index.size), 1)
        avoidable, one_sided = self.missing()

        def _mean(a: np.ndarray, mask: np.ndarray) -> float | None:
            return round(float(a[mask].mean()), 6) if mask.any() else None

        def _max(a: np.ndarray, mask: np.ndarray) -> float | None:
            return round(float(a[mask].max()), 6) if mask.any() else None

        return {
            "method": self.method,
            "seed": self.seed,
            "images": int(self.index.size),
            "objects": int(self._totals.sum()),
            "classes_scored": int(scored.sum()),
            "classes_not_scored": [c for c, t in zip(self.classes, self._totals) if t < 2],
            "mean_error": _mean(err, scored),
            "mean_floor": _mean(self.floor, scored),
            "mean_floor_presence": _mean(self.floor_presence, scored),
            "max_error": _max(err, scored),
            "max_error_20": _max(err, big),
            "max_floor_20": _max(self.floor, big),
            "image_error": round(float(np.abs(self._images / n - self.ratios).max()), 6),
            "image_deviation": {s: round(float(v), 6)
                                for s, v in zip(self.names, self._images - self.ratios * self.index.size)},
            "missing_classes": avoidable,
            "one_sided_classes": one_sided,
            "objective": round(self.objective, 9),
            "lower_bound": round(self.lower_bound, 9),
            "presence_required": self.presence_required,
            "milp": self.milp,
        }

    # -- outputs -----------------------------------------------------------------------------
    def datasets(self, dataset: Dataset | None = None) -> dict[str, Dataset]:
        """One `Dataset` per split (same labels and metadata, the split's assets — shared, not copied)."""
        dataset = dataset if dataset is not None else self.dataset
        if dataset is None:
            raise OptionError("pass the dataset this result was computed for")
        if len(dataset.assets) != self.index.size:
            raise OptionError(f"the dataset has {len(dataset.assets)} assets, the split {self.index.size}")
        parts: list[list[Any]] = [[] for _ in self.names]
        for asset, s in zip(dataset.assets, self.index.tolist()):
            parts[s].append(asset)
        return {n: Dataset(labels=list(dataset.labels), assets=p, metadata=dict(dataset.metadata))
                for n, p in zip(self.names, parts)}

    def platform_logs(self) -> list[dict[str, Any]]:
        """The platform's reserved experiment logs, each ready for ``experiment.log(**entry)``:
        ``train-split`` / ``eval-split`` / ``test-split`` bar charts ``{x: labels, y: objects,
        image_list: [asset ids, else file names]}`` and the ``labelmap`` ``{"1": label, ...}``.

        Example:
            >>> from picsellia_formats import Annotation, Asset, Dataset
            >>> ds = Dataset(assets=[Asset(f"{i}.jpg", id=i, annotations=[Annotation("cat")]) for i in range(5)])
            >>> from picsellia_formats import split
            >>> logs = split(ds, {"train": 0.6, "test": 0.4}).platform_logs()
            >>> [(e["name"], e["type"], e["data"].get("y")) for e in logs]
            [('train-split', 'bar', [3]), ('test-split', 'bar', [2]), ('labelmap', 'labelmap', None)]
        """
        assets = self.dataset.assets if self.dataset is not None else None
        lists: list[list[Any]] = [[] for _ in self.names]
        for i, s in enumerate(self.index.tolist()):
            a = assets[i] if assets is not None else None
            lists[s].append(i if a is None else (a.id if a.id is not None else a.file_name))
        out: list[dict[str, Any]] = []
        used: set[str] = set()
        for s, name in enumerate(self.names):
            log = PLATFORM_LOG_NAMES.get(canonical_split(name) or "", f"{name}-split")
            if log in used:
                log = f"{name}-split"
            used.add(log)
            out.append({"name": log, "type": "bar", "data": {
                "x": list(self.classes), "y": self._objects[s].tolist(), "image_list": lists[s]}})
        out.append({"name": "labelmap", "type": "labelmap",
                    "data": {str(i + 1): c for i, c in enumerate(self.classes)}})
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-able data (assignment by file name when names are unique)."""
        err = self.error
        classes = []
        for c, name in enumerate(self.classes):
            classes.append({
                "name": name,
                "objects": int(self._totals[c]),
                "images": int(self._per_class[c]),
                "error": round(float(err[c]), 6),
                "floor": round(float(self.floor[c]), 6),
                "floor_presence": round(float(self.floor_presence[c]), 6),
                "per_split": {s: {"objects": int(self._objects[k, c]), "images": int(self._present[k, c]),
                                  "target": round(float(self.ratios[k] * self._totals[c]), 6)}
                              for k, s in enumerate(self.names)},
            })
        out: dict[str, Any] = {
            "splits": [{"name": n, "ratio": float(r), "images": int(i), "objects": int(o.sum())}
                       for n, r, i, o in zip(self.names, self.ratios, self._images, self._objects)],
            "summary": self.summary(),
            "classes": classes,
        }
        if self.dataset is not None:
            files = [a.file_name for a in self.dataset.assets]
            if len(set(files)) == len(files):
                out["assignment"] = dict(zip(files, self.assignment))
            else:
                out["assignment"] = self.assignment
        else:
            out["assignment"] = self.assignment
        out["platform_logs"] = self.platform_logs()
        return out

    def to_json(self, indent: bool = True) -> str:
        """`to_dict` as JSON text."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2 if indent else 0).decode()

    def table(self, max_classes: int | None = 50) -> str:
        """A text table: per class its objects and share per split, error and floor."""
        head = ["class", "objects", *(f"{n} ({r:.0%})" for n, r in zip(self.names, self.ratios)), "error", "floor"]
        rows = [head]
        err = self.error
        order = np.argsort(-self._totals, kind="stable")
        shown = order if max_classes is None else order[:max_classes]
        for c in shown:
            total = int(self._totals[c])
            cells = [f"{int(self._objects[s, c])} ({self._objects[s, c] / max(total, 1):.1%})"
                     for s in range(len(self.names))]
            scored = total >= 2
            rows.append([self.classes[c], str(total), *cells, f"{err[c]:.4f}" if scored else "-",
                         f"{self.floor_presence[c]:.4f}" if scored else "-"])
        rows.append(["images", str(self.index.size),
                     *(f"{i} ({i / max(self.index.size, 1):.1%})" for i in self._images), "", ""])
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                           for i, (cell, w) in enumerate(zip(r, widths))).rstrip() for r in rows]
        if max_classes is not None and len(order) > max_classes:
            lines.insert(-1, f"... {len(order) - max_classes} more classes (see split.json)")
        s = self.summary()
        lines.append(
            f"mean error {s['mean_error']} (floor {s['mean_floor_presence']}), max error (>= 20 objects) "
            f"{s['max_error_20']}, missing classes {len(s['missing_classes'])}, method {self.method}, "
            f"{self.seconds:.2f} s")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"SplitResult({', '.join(f'{n}={i}' for n, i in self.images.items())}, "
                f"method={self.method!r}, objective={self.objective:.6g})")
