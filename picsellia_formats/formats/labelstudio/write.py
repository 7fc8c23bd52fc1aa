"""Write a Label Studio JSON export (the task list Label Studio imports and exports).

A dataset read from Label Studio is written back JSON-equal: tasks, annotation records, the other
annotators' records, result ids and order, and the original percentage values (used when the pixel
geometry is unchanged). Anything else gets fresh ids (``r1``, ``r2``...) and the default control
names ``label`` (rectangles), ``polygon``, ``keypoint``, ``brush``, ``choice`` on ``image``.

Example:
    >>> import tempfile, pathlib, json
    >>> from picsellia_formats.model import Annotation, Asset, Dataset
    >>> ds = Dataset(assets=[Asset("a.jpg", 200, 100, [Annotation("cat", box=(20.0, 10.0, 50.0, 30.0))])])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "tasks.json"
    >>> write(ds, out)
    >>> json.loads(out.read_text())[0]["annotations"][0]["result"][0]["value"]
    {'x': 10.0, 'y': 10.0, 'width': 25.0, 'height': 30.0, 'rotation': 0, 'rectanglelabels': ['cat']}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from ...model import QA, Annotation, Asset, Dataset
from ...report import Report
from .brush import decode_mask, encode_mask
from .geometry import rect_corners, rect_px

DEFAULT_NAMES = {"rectanglelabels": "label", "polygonlabels": "polygon", "keypointlabels": "keypoint",
                 "brushlabels": "brush", "choices": "choice"}


def write(dataset: Dataset, path: str | Path, *, images: Path | None = None, report: Report | None = None,
          progress: bool = False) -> None:
    """Write `dataset` to `path` as a Label Studio JSON task list."""
    report = report if report is not None else Report()
    w = _Writer(dataset, report)
    tasks = [w.task(i, asset) for i, asset in enumerate(dataset.assets)]
    Path(path).write_bytes(orjson.dumps(tasks, option=orjson.OPT_INDENT_2) + b"\n")
    w.finish()


def _same(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


class _Writer:
    def __init__(self, dataset: Dataset, report: Report) -> None:
        self.ds = dataset
        self.report = report
        meta = dataset.metadata.get("labelstudio") or {}
        self.controls: dict[str, dict[str, str]] = meta.get("controls") or {}
        self.source = meta.get("source") or "annotations"
        self.n: dict[str, int] = {}
        self.fresh = 0

    def count(self, key: str, n: int = 1) -> None:
        self.n[key] = self.n.get(key, 0) + n

    def _id(self, stored: Any) -> Any:
        if stored is not None:
            return stored
        self.fresh += 1
        return f"r{self.fresh}"

    # ------------------------------------------------------------------ tasks
    def task(self, index: int, asset: Asset) -> dict[str, Any]:
        ls = (asset.extra.get("labelstudio") or {}) if asset.extra else {}
        task = dict(ls.get("task") or {})
        key = ls.get("image_key", "image")
        data = dict(task.get("data") or {})
        url = data.get(key)
        if not isinstance(url, str) or url.rsplit("/", 1)[-1] != asset.file_name:
            from .read import file_name_of

            if not isinstance(url, str) or file_name_of(url) != asset.file_name:
                data[key] = asset.file_name
        task["data"] = data
        if "id" not in task:
            task = {"id": asset.id if isinstance(asset.id, int) and not isinstance(asset.id, bool) else index + 1,
                    **task}
        record = dict(ls.get("record") or {"id": index + 1})
        record["result"] = self.results(asset, ls.get("order") or [])
        if "others" in ls:
            records = [record if r is None else r for r in ls["others"]]
            if None not in ls["others"]:
                records.append(record) if record["result"] else None
        else:
            records = [record] if record["result"] or "record" in ls else []
        task[self.source] = records
        if self.source == "annotations":
            task.setdefault("predictions", [])
        return task

    def results(self, asset: Asset, order: list[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if asset.width is None or asset.height is None:
            if asset.annotations:
                self.count("no size", sum(1 for a in asset.annotations if a.kind != "classification"))
        choices: dict[str, dict[str, Any]] = {}
        for ann in asset.annotations:
            if ann.kind == "classification":
                ls = (ann.extra.get("labelstudio") or {}) if ann.extra else {}
                name = ls.get("from_name") or "choice"
                group = choices.get(name)
                if group is None:
                    group = choices[name] = self._result(ls, "choices", name, None, {"choices": []}, asset)
                    out.append(group)
                group["value"]["choices"].append(ann.label)
            elif asset.width is not None and asset.height is not None:
                out += self.shape(ann, asset)
        for qa in asset.qa:
            out.append(self._qa(qa, None, asset, (asset.extra.get("labelstudio") or {}).get("qa_ids", {})
                                if asset.extra else {}))
        rank = {rid: i for i, rid in enumerate(order)}
        return sorted(out, key=lambda r: rank.get(r.get("id"), len(rank)))

    def _result(self, ls: dict[str, Any], kind: str, default_name: str, asset_size: Any,
                value: dict[str, Any], asset: Asset) -> dict[str, Any]:
        name = ls.get("from_name") or default_name
        control = self.controls.get(name) or {}
        r: dict[str, Any] = {}
        if kind not in ("choices", "textarea", "number", "rating") or "original_width" in ls or asset_size:
            if asset.width is not None:
                r["original_width"], r["original_height"] = asset.width, asset.height
                if "to_name" not in ls:  # a fresh result: as Label Studio writes it
                    r["image_rotation"] = 0
        r["value"] = value
        r["id"] = self._id(ls.get("id"))
        r["from_name"] = name
        r["to_name"] = ls.get("to_name") or control.get("to_name") or "image"
        r["type"] = kind
        for k, v in ls.items():
            if k not in ("value", "id", "from_name", "to_name", "side", "type"):
                r[k] = v
        return r

    # ------------------------------------------------------------------ shapes
    def shape(self, ann: Annotation, asset: Asset) -> list[dict[str, Any]]:
        from ...masks import rle_to_mask

        ls = (ann.extra.get("labelstudio") or {}) if ann.extra else {}
        stored = ls.get("value") or {}
        W, H = asset.width, asset.height
        kind = ann.kind
        results: list[dict[str, Any]] = []

        def px(x: float, y: float) -> list[float]:
            return [x * 100 / W, y * 100 / H]

        if kind == "box" or (kind == "polygon" and stored.get("rotation") and self._rotated(stored, ann, W, H)):
            if kind == "polygon" or self._box_same(stored, ann, W, H):
                value = {k: v for k, v in stored.items()}
            else:
                x, y, bw, bh = ann.box  # type: ignore[misc]
                value = {"x": x * 100 / W, "y": y * 100 / H, "width": bw * 100 / W, "height": bh * 100 / H,
                         "rotation": 0}
            value["rectanglelabels"] = [ann.label]
            results.append(self._result(ls, "rectanglelabels", "label", True, value, asset))
        elif kind == "polygon":
            parts = [p for p in ann.polygon or [] if len(p) >= 6]
            for i, part in enumerate(parts):
                pts = [px(part[j], part[j + 1]) for j in range(0, len(part) - 1, 2)]
                old = stored.get("points")
                if isinstance(old, list) and len(old) == len(pts) and all(
                        _same(a[0] * W / 100, part[2 * k]) and _same(a[1] * H / 100, part[2 * k + 1])
                        for k, a in enumerate(old)):
                    pts = old
                value = {**{k: v for k, v in stored.items() if k != "points"}, "points": pts,
                         "polygonlabels": [ann.label]}
                results.append(self._result(ls if i == 0 else {k: v for k, v in ls.items() if k != "id"},
                                            "polygonlabels", "polygon", True, value, asset))
        elif kind == "point":
            x, y = ann.point  # type: ignore[misc]
            value = {k: v for k, v in stored.items()}
            if not (_finite2(stored) and _same(stored["x"] * W / 100, x) and _same(stored["y"] * H / 100, y)):
                value.update(x=x * 100 / W, y=y * 100 / H)
            value["keypointlabels"] = [ann.label]
            results.append(self._result(ls, "keypointlabels", "keypoint", True, value, asset))
        elif kind == "keypoints":
            kps = ann.keypoints or []
            for i in range(0, len(kps) - 2, 3):
                if kps[i + 2]:
                    value = {"x": kps[i] * 100 / W, "y": kps[i + 1] * 100 / H, "keypointlabels": [ann.label]}
                    results.append(self._result({k: v for k, v in ls.items() if k != "id"}, "keypointlabels",
                                                "keypoint", True, value, asset))
        elif kind == "mask":
            mask = ann.mask
            rle = stored.get("rle")
            if not (isinstance(rle, list) and mask.height == H and mask.width == W and self._rle_same(rle, mask)):
                if (mask.height, mask.width) != (H, W):
                    self.count("mask size")
                    return results
                rle = encode_mask(rle_to_mask(mask))
            value = {**{k: v for k, v in stored.items() if k != "rle"}, "format": "rle", "rle": rle,
                     "brushlabels": [ann.label]}
            results.append(self._result(ls, "brushlabels", "brush", True, value, asset))
        elif kind == "line":
            return results
        if ann.score is not None and results:
            for r in results:
                r["score"] = ann.score
        if ann.qa and results:
            side = ls.get("side")
            if side and self._side_same(side, ann.qa):
                results += [dict(s) for s in side]
            else:
                rid = results[0]["id"]
                results += [self._qa(qa, rid, asset, {}) for qa in ann.qa]
        return results

    def _box_same(self, stored: dict, ann: Annotation, W: int, H: int) -> bool:
        if not all(_finite1(stored.get(k)) for k in ("x", "y", "width", "height")) or stored.get("rotation"):
            return False
        return all(_same(a, b) for a, b in zip(rect_px(stored, W, H), ann.box))  # type: ignore[arg-type]

    def _rotated(self, stored: dict, ann: Annotation, W: int, H: int) -> bool:
        if not all(_finite1(stored.get(k)) for k in ("x", "y", "width", "height", "rotation")):
            return False
        return ann.polygon == [rect_corners(*rect_px(stored, W, H), stored["rotation"])]

    def _rle_same(self, rle: list[int], mask: Any) -> bool:
        from ...masks import mask_to_rle, rle_to_mask

        try:
            return mask_to_rle(decode_mask(rle, mask.width, mask.height)).counts == (
                mask.counts if mask.compressed else mask_to_rle(rle_to_mask(mask)).counts)
        except ValueError:
            return False

    def _side_same(self, side: list[dict], qa: Any) -> bool:
        from .read import TaskReader

        probe = Annotation("x", extra={"labelstudio": {}})
        reader = TaskReader(Path("."), Report(), "latest", self.source)
        try:
            for r in side:
                reader._side(r, probe, Asset("x"), [])
        except (ValueError, KeyError, TypeError):
            return False
        return list(probe.qa) == list(qa)

    def _qa(self, qa: QA, region: Any, asset: Asset, ids: dict[str, Any]) -> dict[str, Any]:
        control = self.controls.get(qa.question) or {}
        ls: dict[str, Any] = {"from_name": qa.question, "id": region if region is not None else ids.get(qa.question)}
        if qa.kind == "text":
            kind, value = "textarea", {"text": [qa.answer]}
        elif qa.kind == "range":
            kind = "rating" if control.get("type") == "rating" else "number"
            value = {kind: qa.answer}
        else:
            kind = "choices"
            value = {"choices": list(qa.answer) if qa.kind == "mc" else [qa.answer]}
            if region is None:
                self.count("select qa")
        return self._result(ls, kind, qa.question, region is not None, value, asset)

    def finish(self) -> None:
        r, n = self.report, self.n
        # lines, attributes, crowd flags, statuses, metadata, tags, labels without objects, label groups,
        # keypoint objects and multi-part polygons are reported from FORMAT.holds
        r.dropped("objects on images of unknown size", n.get("no size", 0), "percentages need the image size")
        r.dropped("masks of another size than their image", n.get("mask size", 0))
        r.changed("image select/multiple-choice Q&A written as choices", n.get("select qa", 0),
                  "read back as image classifications")


def _finite1(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")


def _finite2(stored: dict) -> bool:
    return _finite1(stored.get("x")) and _finite1(stored.get("y"))
