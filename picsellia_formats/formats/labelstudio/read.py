"""Read a Label Studio JSON export (the full task list) into a `Dataset`.

One task is one asset (``data.image``: its file name is the URL's last path segment; the whole task
but its annotations is kept in ``extra["labelstudio"]``). Of a task's annotations (several
annotators) one is read: the latest by ``updated_at``/``created_at`` by default, or the first, or
the one by a given ``completed_by`` (option `annotator`); the others are kept for Label Studio ->
Label Studio and reported. `source="predictions"` reads the predictions instead (``score`` kept).

Results: ``rectanglelabels`` -> box (a ``rotation`` makes it the rotated 4-point polygon, reported),
``polygonlabels`` -> polygon, ``keypointlabels`` -> point, ``brushlabels`` (Label Studio's RLE) ->
the exact COCO RLE mask, image-level ``choices`` -> image classifications, ``textarea`` -> text
Q&A, ``number``/``rating`` -> range Q&A; a ``choices``/``textarea``/``number``/``rating`` result
sharing a region's id is that object's Q&A. Percentages become pixels with ``original_width`` /
``original_height``. Other result types are refused by name.

Example:
    >>> ds = read("fixtures/labelstudio/export_obb/data_obb.json")
    >>> len(ds), ds.num_annotations, ds.assets[0].width
    (2, 2, 433)
"""

from __future__ import annotations

import math
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from ...errors import FormatError, OptionError, ProblemCollector
from ...model import QA, Annotation, Asset, Dataset
from ...report import Report
from .._json_files import load_json
from .brush import decode_mask
from .detect import resolve
from .geometry import rect_corners, rect_px

GEOMETRY = {"rectanglelabels": "rectanglelabels", "polygonlabels": "polygonlabels",
            "keypointlabels": "keypointlabels", "brushlabels": "brushlabels"}
SIDE = ("choices", "textarea", "number", "rating")
#: result keys the reader maps; every other key of a result is kept as is
_MAPPED = frozenset(("value", "type", "id", "from_name", "to_name", "original_width", "original_height", "score"))


def read(path: str | Path, *, images: Path | None = None, report: Report | None = None,
         annotator: str = "latest", source: str = "annotations", progress: bool = False) -> Dataset:
    """Read a Label Studio JSON export. `annotator`: ``latest``, ``first`` or a ``completed_by`` value
    (a ``model_version`` with predictions); `source`: ``annotations`` or ``predictions``. A task with no
    record to read (none, all cancelled, none by `annotator`) is an image with no objects, counted."""
    report = report if report is not None else Report()
    if source not in ("annotations", "predictions"):
        raise OptionError(f"source must be annotations or predictions, got {source!r}")
    if not isinstance(annotator, str) or not annotator.strip():
        raise OptionError(f"annotator must be latest, first, or a completed_by id or email (a model_version "
                          f"with predictions), got {annotator!r}")
    file = resolve(Path(path))
    data = load_json(file)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise FormatError("a Label Studio export is a JSON list of tasks", file=file)
    reader = TaskReader(file, report, annotator, source)
    for i, task in enumerate(data):
        reader.task(i, task)
    reader.problems.raise_if_any()
    reader.ds.ensure_labels()
    reader.finish()
    return reader.ds


def file_name_of(url: str) -> str:
    parsed = urlparse(url)
    path = parsed.path
    if parsed.query and "d=" in parsed.query and path.endswith("/data/local-files/"):
        path = parsed.query.split("d=", 1)[1]
    return PurePosixPath(unquote(path)).name or url


def _authors(record: dict[str, Any]) -> tuple[str, ...]:
    """The values `annotator` matches in a record: ``completed_by`` (an id, or an object with ``id`` and
    ``email``), else a prediction's ``model_version``; nothing when absent or empty."""
    by = record.get("completed_by", record.get("model_version"))
    if isinstance(by, dict):
        return tuple(str(v) for v in (by.get("id"), by.get("email")) if v not in (None, ""))
    return (str(by),) if by not in (None, "") else ()


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class TaskReader:
    def __init__(self, file: Path, report: Report, annotator: str, source: str) -> None:
        self.file = file
        self.report = report
        self.annotator = annotator
        self.source = source
        self.problems = ProblemCollector(file)
        self.ds = Dataset()
        self.controls: dict[str, dict[str, str]] = {}
        self.n: dict[str, int] = {}

    def count(self, key: str, n: int = 1) -> None:
        self.n[key] = self.n.get(key, 0) + n

    def task(self, index: int, task: Any) -> None:
        record = f"task[{index}]" + (f" id={task.get('id')}" if isinstance(task, dict) and "id" in task else "")
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            self.problems.add(record, "a task must be an object with a 'data' object")
            return
        data = task["data"]
        key = "image" if isinstance(data.get("image"), str) else next(
            (k for k, v in data.items() if isinstance(v, str)), None)
        if key is None:
            self.problems.add(record, "task data holds no image URL")
            return
        records = task.get(self.source, task.get("completions") if self.source == "annotations" else None)
        if records is None:
            records = []
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            self.problems.add(record, f"'{self.source}' must be a list of objects")
            return
        chosen, live = self._choose(records)
        ls: dict[str, Any] = {"task": {k: v for k, v in task.items() if k not in (self.source,)},
                              "image_key": key}
        if live > 1:
            self.count("several")
        if chosen is not None:
            ls["at"] = chosen
            ls["record"] = {k: v for k, v in records[chosen].items() if k != "result"}
        if len(records) > (chosen is not None):
            ls["others"] = [None if i == chosen else r for i, r in enumerate(records)]
            self.count("others", live - (chosen is not None))  # the cancelled ones are counted apart
        asset = Asset(file_name_of(data[key]), None, None, [], task.get("id"))
        asset.extra = {"labelstudio": ls}
        if chosen is not None:
            self._results(records[chosen].get("result"), f"{record}: {self.source}[{chosen}]", asset,
                          records[chosen].get("score") if self.source == "predictions" else None)
        self.ds.add_asset(asset)

    def _choose(self, records: list[dict]) -> tuple[int | None, int]:
        """(the index of the record to read, None when there is none; how many are not cancelled)."""
        live = [i for i, r in enumerate(records) if not (r.get("was_cancelled") or r.get("skipped"))]
        if len(live) < len(records):
            self.count("cancelled", len(records) - len(live))
        if not live:
            self.count("all cancelled" if records else "none")
            return None, 0
        if self.annotator == "first":
            return live[0], len(live)
        if self.annotator == "latest":
            return max(live, key=lambda i: (str(records[i].get("updated_at") or records[i].get("created_at") or ""),
                                            i)), len(live)
        for i in live:
            if self.annotator in _authors(records[i]):
                return i, len(live)
        self.count("annotator missing")
        return None, len(live)

    def _results(self, results: Any, record: str, asset: Asset, record_score: Any) -> None:
        if not isinstance(results, list):
            self.problems.add(record, "'result' must be a list")
            return
        regions: dict[Any, Annotation] = {}
        order: list[Any] = []
        side_later: list[tuple[int, dict]] = []
        for j, r in enumerate(results):
            rec = f"{record}: result[{j}]"
            if not isinstance(r, dict) or not isinstance(r.get("value"), dict) or not isinstance(r.get("type"), str):
                self.problems.add(rec, "a result must be an object with 'type' and a 'value' object")
                continue
            if not all(isinstance(r.get(k), (str, int, type(None))) for k in ("id", "from_name", "to_name")):
                self.problems.add(rec, "'id', 'from_name' and 'to_name' must be strings")
                continue
            order.append(r.get("id"))
            kind = r["type"].lower()
            if r.get("from_name") is not None:
                self.controls.setdefault(r["from_name"], {"type": kind, "to_name": r.get("to_name", "image")})
            try:
                if kind in GEOMETRY:
                    for ann in self._geometry(r, kind, asset):
                        regions.setdefault(r.get("id"), ann)
                        asset.annotations.append(ann)
                elif kind in SIDE:
                    side_later.append((j, r))
                else:
                    raise ValueError(f"Label Studio result type {r['type']!r} is not supported "
                                     "(rectanglelabels, polygonlabels, keypointlabels, brushlabels, choices, "
                                     "textarea, number, rating are)")
            except (ValueError, KeyError, TypeError) as exc:
                msg = str(exc) if isinstance(exc, ValueError) else f"malformed value ({type(exc).__name__}: {exc})"
                self.problems.add(rec, msg)
        image_qa: list[QA] = list(asset.qa)
        for j, r in side_later:
            try:
                self._side(r, regions.get(r.get("id")), asset, image_qa)
            except (ValueError, KeyError, TypeError) as exc:
                self.problems.add(f"{record}: result[{j}]", f"malformed {r['type']} value: {exc}")
        if image_qa:
            asset.qa = image_qa
        ls = dict(asset.extra["labelstudio"])
        ls["order"] = order
        asset.extra = {"labelstudio": ls}
        if record_score is not None:
            for ann in asset.annotations:
                if ann.score is None and _finite(record_score):
                    ann.score = float(record_score)

    def _size(self, r: dict, asset: Asset) -> tuple[int, int]:
        w, h = r.get("original_width"), r.get("original_height")
        if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
            raise ValueError("needs integer original_width and original_height")
        if asset.width is None:
            asset.width, asset.height = w, h
        elif (asset.width, asset.height) != (w, h):
            raise ValueError(f"original size {w}x{h} differs from {asset.width}x{asset.height} of an earlier result")
        return w, h

    def _extra(self, r: dict) -> dict[str, Any]:
        keep = {k: v for k, v in r.items() if k not in _MAPPED}
        keep["id"] = r.get("id")
        keep["from_name"] = r.get("from_name")
        keep["to_name"] = r.get("to_name")
        return keep

    def _geometry(self, r: dict, kind: str, asset: Asset) -> list[Annotation]:
        w, h = self._size(r, asset)
        v = r["value"]
        labels = v.get(kind)
        if labels is None:
            labels = v.get("labels")
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
            raise ValueError(f"value.{kind} must be a non-empty list of label names")
        extra: dict[str, Any] = self._extra(r)
        geo: dict[str, Any] = {}
        if kind == "rectanglelabels":
            nums = [v.get(k) for k in ("x", "y", "width", "height")]
            if not all(_finite(n) for n in nums):
                raise ValueError("rectangle x, y, width, height must be finite numbers")
            x, y, bw, bh = rect_px(v, w, h)
            rotation = v.get("rotation") or 0
            if not _finite(rotation):
                raise ValueError("rotation must be a finite number")
            if rotation % 360:
                geo["polygon"] = [rect_corners(x, y, bw, bh, rotation)]
                self.count("rotated")
            else:
                geo["box"] = (x, y, bw, bh)
        elif kind == "polygonlabels":
            pts = v.get("points")
            if not isinstance(pts, list) or len(pts) < 3 or not all(
                    isinstance(p, list) and len(p) == 2 and _finite(p[0]) and _finite(p[1]) for p in pts):
                raise ValueError("polygon points must be a list of at least 3 [x, y] percentages")
            geo["polygon"] = [[c for px, py in pts for c in (px * w / 100, py * h / 100)]]
        elif kind == "keypointlabels":
            if not (_finite(v.get("x")) and _finite(v.get("y"))):
                raise ValueError("keypoint x, y must be finite numbers")
            geo["point"] = (v["x"] * w / 100, v["y"] * h / 100)
        else:
            if v.get("format", "rle") != "rle" or not isinstance(v.get("rle"), list):
                raise ValueError(f"brush format {v.get('format')!r} is not supported (Label Studio 'rle' is)")
            from ...masks import mask_to_rle

            geo["mask"] = mask_to_rle(decode_mask(v["rle"], w, h))
        extra["value"] = {k: val for k, val in v.items() if k != kind}
        score = r.get("score")
        out = []
        for name in labels:
            out.append(Annotation(name, score=float(score) if _finite(score) else None,
                                  extra={"labelstudio": dict(extra)}, **geo))
        if len(labels) > 1:
            self.count("multi label", len(labels) - 1)
        return out

    def _side(self, r: dict, region: Annotation | None, asset: Asset, image_qa: list[QA]) -> None:
        kind = r["type"].lower()
        v = r["value"]
        name = r.get("from_name") or kind
        if kind == "choices":
            choices = v.get("choices")
            if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
                raise ValueError("value.choices must be a list of strings")
            if region is None:
                for choice in choices:
                    asset.annotations.append(Annotation(choice, extra={"labelstudio": self._extra(r)}))
                return
            qa = QA("select", name, choices[0]) if len(choices) == 1 else QA("mc", name, list(choices))
        elif kind == "textarea":
            text = v.get("text")
            if isinstance(text, str):
                text = [text]
            if not isinstance(text, list) or not all(isinstance(t, str) for t in text):
                raise ValueError("value.text must be a list of strings")
            if len(text) > 1:
                self.count("joined")
            qa = QA("text", name, "\n".join(text))
        else:
            number = v.get(kind)
            if not _finite(number):
                raise ValueError(f"value.{kind} must be a finite number")
            qa = QA("range", name, number)
        if region is None:
            image_qa.append(qa)
            ids = dict(asset.extra["labelstudio"].get("qa_ids", {}))
            ids[name] = r.get("id")
            ls = dict(asset.extra["labelstudio"])
            ls["qa_ids"] = ids
            asset.extra = {"labelstudio": ls}
        else:
            region.qa = [*region.qa, qa]
            ls = dict(region.extra["labelstudio"])
            ls.setdefault("side", []).append(r)
            region.extra = {"labelstudio": ls}

    def finish(self) -> None:
        self.ds.metadata["labelstudio"] = {"controls": self.controls, "source": self.source}
        r, n = self.report, self.n
        r.changed("rotated rectangles read as 4-point polygons", n.get("rotated", 0),
                  "the model has no rotated box; Label Studio -> Label Studio writes the rectangle back")
        r.info(f"tasks with several {self.source}: one read", n.get("several", 0),
               f"annotator={self.annotator}; the others are kept only for Label Studio output")
        r.info(f"other {self.source} not read", n.get("others", 0))
        r.info(f"cancelled {self.source} skipped", n.get("cancelled", 0))
        r.info(f"tasks without {self.source}, read with no objects", n.get("none", 0))
        r.info(f"tasks whose {self.source} are all cancelled, read with no objects", n.get("all cancelled", 0))
        who = "annotator" if self.source == "annotations" else "model version"
        r.info(f"tasks with {self.source}, none by {who} {self.annotator}, read with no objects",
               n.get("annotator missing", 0))
        r.changed("regions with several labels read as one object per label", n.get("multi label", 0))
        r.changed("textarea answers with several texts joined by newlines", n.get("joined", 0))
