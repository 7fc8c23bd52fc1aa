"""Label rows -> annotations, by Ultralytics task (detect, segment, obb, pose; or auto).

What each task allows (values after the class index, all normalised by the image size):

* ``detect``: 4 (``cx cy w h``) or 5 (with a confidence, Ultralytics ``save_conf``) values in [0, 1];
* ``segment``: an even count >= 6 (``x1 y1 x2 y2 x3 y3 ...``) in [0, 1];
* ``obb``: 8 (four corners, read as a 4-point polygon; corners may pass the image edge);
* ``pose``: ``4 + N * D`` for ``kpt_shape: [N, D]``: a box then N keypoints ``x y [v]``
  (``D == 2``: no visibility, every keypoint is read as visible, COCO's 2);
* ``None`` (auto, no task declared): a row is read by its count (5, 6: box; 9: a 4-point polygon that may
  pass the edge; any other odd count >= 7: a polygon). A pose row needs ``kpt_shape`` in ``data.yaml``.

A row the task does not allow is a `FormatError` naming the task, the file and the line, and the flag that
skips bad rows (``--yolo-skip-bad-rows``).

Example:
    >>> from pathlib import Path
    >>> from picsellia_formats.report import Report
    >>> from picsellia_formats.errors import ProblemCollector
    >>> p = RowParser({0: "a"}, "pose", (1, 3), False, ProblemCollector(), Report())
    >>> p.parse("0 0.5 0.5 0.2 0.2 0.5 0.5 2", Path("x.txt"), 100, 100)[0].keypoints
    [50.0, 50.0, 2]
"""

from __future__ import annotations

from pathlib import Path

from ...errors import ProblemCollector
from ...model import EMPTY, Annotation
from ...report import Report
from .rows import box_of, box_text, parse_floats, poly_of, poly_text, snap

#: Tasks a YOLO dataset may declare (Ultralytics' names), besides classify (folders, no rows).
ROW_TASKS = ("detect", "segment", "obb", "pose")
MAX_SKIP_ENTRIES = 100
SKIP_FLAG = "--yolo-skip-bad-rows"


class RowParser:
    """Parses label files into annotations for one task; the per-row hot loop lives in `parse`."""

    def __init__(self, names: dict[int, str] | None, task: str | None, kpt_shape: tuple[int, int] | None,
                 skip_bad_rows: bool, problems: ProblemCollector, report: Report) -> None:
        self.names = names
        self.n_classes = (max(names) + 1) if names else 0
        self.task = task
        self.kpt_shape = kpt_shape
        self.skip = skip_bad_rows
        self.problems = problems
        self.report = report
        self.skipped = 0
        self.confidence = False
        self.used_indexes: set[int] = set()
        self.row_kinds: dict[str, int] = {}  # "box", "polygon", "obb", "pose" -> rows read
        self.obb_past_edge = 0

    def bad(self, file: Path, lineno: int, message: str) -> None:
        if self.skip:
            self.skipped += 1
            if self.skipped <= MAX_SKIP_ENTRIES:
                self.report.dropped("bad rows skipped", why=f"{file} line {lineno}: {message}")
        else:
            self.problems.add(f"line {lineno}", message, file=file)

    def _class(self, token: str, file: Path, lineno: int) -> int | None:
        if len(token) > 20:  # no class list is that long; int() of over 4,300 digits would raise
            self.bad(file, lineno, f"class index {token[:12]}... ({len(token):,} characters) is out of range")
            return None
        try:
            idx = int(token)
        except ValueError:
            try:
                f = float(token)
            except ValueError:
                self.bad(file, lineno, f"class index {token!r} is not an integer")
                return None
            if not f.is_integer():
                self.bad(file, lineno, f"class index {token!r} is not an integer")
                return None
            idx = int(f)
        if idx < 0 or (self.names is not None and idx not in self.names):
            known = f"0..{self.n_classes - 1}" if self.names else "none"
            self.bad(file, lineno, f"class index {idx} is out of range (classes: {known})")
            return None
        return idx

    def _kind(self, n: int) -> str | None:
        """The kind of a row of `n` values (class included) under the task, None when not allowed."""
        task = self.task
        if task is None:
            if n in (5, 6):
                return "box"
            if n == 9:
                return "obb"
            return "polygon" if n >= 7 and n % 2 else None
        if task == "detect":
            return "box" if n in (5, 6) else None
        if task == "segment":
            return "polygon" if n >= 7 and n % 2 else None
        if task == "obb":
            return "obb" if n == 9 else None
        nk, nd = self.kpt_shape or (0, 0)
        return "pose" if n == 5 + nk * nd else None

    def _expected(self) -> str:
        task = self.task
        if task is None:
            return ("5 (class cx cy w h), 6 (with a confidence) or an odd count >= 7 (class x1 y1 x2 y2 x3 y3 "
                    "...); pose rows need kpt_shape in data.yaml")
        if task == "detect":
            return "5 (class cx cy w h) or 6 (with a confidence)"
        if task == "segment":
            return "an odd count >= 7 (class x1 y1 x2 y2 x3 y3 ...)"
        if task == "obb":
            return "9 (class x1 y1 x2 y2 x3 y3 x4 y4)"
        nk, nd = self.kpt_shape or (0, 0)
        return f"{5 + nk * nd} (class cx cy w h, then {nk} keypoints of {nd} values: kpt_shape [{nk}, {nd}])"

    def parse(self, text: str, file: Path, W: int, H: int) -> list[Annotation]:
        anns: list[Annotation] = []
        names = self.names
        task_name = self.task or "auto"
        kind_of: dict[int, str | None] = {}  # value count -> row kind, for this file
        used_indexes, row_kinds = self.used_indexes, self.row_kinds
        for lineno, line in enumerate(text.splitlines(), 1):
            parts = line.split()
            n = len(parts)
            if not n:
                continue
            kind = kind_of[n] if n in kind_of else kind_of.setdefault(n, self._kind(n))
            if kind is None:
                self.bad(file, lineno, f"{n} values; expected {self._expected()} (YOLO task {task_name!r}; "
                                       f"{SKIP_FLAG} skips bad rows)")
                continue
            try:
                vals = [float(t) for t in parts[1:]]
            except ValueError:
                bad = next(t for t in parts[1:] if parse_floats(t) is None)
                self.bad(file, lineno, f"{bad!r} is not a number")
                continue
            checked = vals if kind != "pose" else vals[:4]
            lo = min(checked)
            hi = max(checked)
            total = sum(checked)
            if kind == "obb":
                if total != total or total - total != 0.0:
                    self.bad(file, lineno, "a corner is not a finite number")
                    continue
                if lo < 0.0 or hi > 1.0:
                    self.obb_past_edge += 1
            elif not (lo >= 0.0 and hi <= 1.0 and total == total):
                what = next((v for v in checked if not 0.0 <= v <= 1.0), "nan")
                self.bad(file, lineno, f"value {what} is outside [0, 1] (YOLO values are normalised)")
                continue
            cls_token = parts[0]
            if (cls_token.isascii() and cls_token.isdigit() and len(cls_token) < 19
                    and (names is None or int(cls_token) in names)):
                idx = int(cls_token)
            else:
                idx = self._class(cls_token, file, lineno)
                if idx is None:
                    continue
            used_indexes.add(idx)
            row_kinds[kind] = row_kinds.get(kind, 0) + 1
            label = names[idx] if names is not None else str(idx)
            if kind == "box":
                source = " ".join(parts[1:5])
                box = box_of(vals[0], vals[1], vals[2], vals[3], W, H)
                score = None
                if n == 6:
                    score = vals[4]
                    self.confidence = True
                extra = EMPTY if box_text(box, W, H) == source else {"yolo": {"text": source}}
                anns.append(Annotation(label, box, None, None, None, None, None, score, 0, None, None,
                                       EMPTY, (), extra))
            elif kind == "pose":
                kps = self._keypoints(vals[4:], file, lineno, W, H)
                if kps is None:
                    continue
                source = " ".join(parts[1:5])
                box = box_of(vals[0], vals[1], vals[2], vals[3], W, H)
                extra = EMPTY if box_text(box, W, H) == source else {"yolo": {"text": source}}
                anns.append(Annotation(label, box, None, None, kps, None, None, None, 0, None, None,
                                       EMPTY, (), extra))
            else:
                source = " ".join(parts[1:])
                poly = poly_of(vals, W, H)
                extra = EMPTY if poly_text(poly, W, H) == source else {"yolo": {"text": source}}
                anns.append(Annotation(label, None, [poly], None, None, None, None, None, 0, None, None,
                                       EMPTY, (), extra))
        return anns

    def _keypoints(self, vals: list[float], file: Path, lineno: int, W: int, H: int) -> list[float] | None:
        nk, nd = self.kpt_shape  # type: ignore[misc]
        out: list[float] = []
        for k in range(nk):
            x, y = vals[k * nd], vals[k * nd + 1]
            if nd == 3:
                v = vals[k * nd + 2]
                if v not in (0.0, 1.0, 2.0):
                    self.bad(file, lineno, f"keypoint {k} visibility {v:g} is not 0, 1 or 2")
                    return None
                vis = int(v)
            else:
                vis = 2
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                self.bad(file, lineno, f"keypoint {k} ({x:g}, {y:g}) is outside [0, 1] (YOLO values are "
                                       "normalised)")
                return None
            out += (snap(x * W), snap(y * H), vis)
        return out
