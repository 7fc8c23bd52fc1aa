"""Image-file rules: each image is probed by a pure function of one asset, run in a process pool.

A probe reads the header only (size, type, EXIF orientation: JPEG and PNG heads directly, see
`headers`, anything else through Pillow and `picsellia_formats.images`) and the last bytes of the
file: a JPEG must end with its EOI marker, a PNG with its IEND chunk, a GIF with its trailer,
a BMP/WebP must be as long as its header says. Only a file that fails that test is decoded, to tell
a truncated file (Pillow: "image file is truncated") from one that merely has trailing data.
``deep=True`` decodes every file. Duplicates are found by hashing only files of equal byte size.

Example:
    >>> facts = probe(("fixtures/sahi_coco/coco_utils/terrain1.jpg",))
    >>> facts.status, facts.format, facts.width, facts.height, facts.orientation
    ('ok', 'jpeg', 2048, 1365, 1)
    >>> probe(("no/such.jpg",)).status
    'missing'
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, NamedTuple

from PIL import Image

from ..image_header import HEAD, ImageTooLargeError, check_pixels, exif_orientation, fast_header
from ..images import SWAPPING_ORIENTATIONS, ImageIndex
from .context import Context
from .objects import shown

#: Image types the platform takes (Pillow format names, lower-case); MPO is a JPEG with extra frames.
PLATFORM_TYPES = frozenset(("jpeg", "mpo", "png", "bmp", "gif", "tiff"))
_EXTENSION_TYPES = {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".jfif": "jpeg", ".png": "png",
                    ".bmp": "bmp", ".gif": "gif", ".tif": "tiff", ".tiff": "tiff", ".webp": "webp"}
_PNG_END = b"IEND\xaeB`\x82"
_PADDING = b"\x00\r\n\t "
_SHARD = 256


class ImageFacts(NamedTuple):
    """What one image file says: ``status`` is ok, missing, unreadable or truncated."""

    status: str
    path: str | None = None
    format: str | None = None
    width: int | None = None  # as displayed (after EXIF orientation)
    height: int | None = None
    raw_width: int | None = None  # as stored
    raw_height: int | None = None
    orientation: int = 1
    nbytes: int = 0
    error: str | None = None


def _ends_well(fmt: str, f: Any, nbytes: int) -> bool:
    """The cheap completeness test on the file's last bytes (True when no test applies)."""
    if fmt in ("jpeg", "mpo", "png", "gif"):
        f.seek(max(0, nbytes - 64))
        tail = f.read().rstrip(_PADDING)
        if fmt == "png":
            return tail.endswith(_PNG_END)
        if fmt == "gif":
            return tail.endswith(b";")
        return tail.endswith(b"\xff\xd9")
    if fmt in ("bmp", "webp"):
        f.seek(0)
        head = f.read(12)
        if fmt == "bmp":
            return len(head) >= 6 and int.from_bytes(head[2:6], "little") <= nbytes
        return len(head) >= 8 and int.from_bytes(head[4:8], "little") + 8 <= nbytes
    return True


def probe(candidates: Sequence[str], deep: bool = False) -> ImageFacts:
    """Probe the first existing path of `candidates`. Pure: a function of the files only."""
    path = None
    for c in candidates:
        if os.path.isfile(c):
            path = c
            break
    if path is None:
        return ImageFacts("missing")
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD)
            fast = fast_header(head)
            if fast is not None:
                check_pixels(fast.width, fast.height, file=path)
            if fast is not None and not deep:
                nbytes = os.fstat(f.fileno()).st_size
                fmt, raw_w, raw_h, orientation = fast
                w, h = (raw_h, raw_w) if orientation in SWAPPING_ORIENTATIONS else (raw_w, raw_h)
                if _ends_well(fmt, f, nbytes):
                    return ImageFacts("ok", path, fmt, w, h, raw_w, raw_h, orientation, nbytes)
    except OSError as exc:
        return ImageFacts("unreadable", path, error=f"cannot read: {exc.strerror or exc}")
    except ImageTooLargeError as exc:
        return ImageFacts("unreadable", path, error=exc.message)
    return _probe_pillow(path, deep)


def _probe_pillow(path: str, deep: bool) -> ImageFacts:
    """The probe through Pillow: any type, and the decode that tells truncated from trailing data."""
    try:
        with open(path, "rb") as f, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f.seek(0, 2)
            nbytes = f.tell()
            f.seek(0)
            try:
                im = Image.open(f)
            except Exception as exc:  # Pillow raises many types on non-images
                status = "truncated" if "runcated" in str(exc) and nbytes else "unreadable"
                return ImageFacts(status, path, nbytes=nbytes, error=_plain(exc))
            with im:
                fmt = (im.format or "").lower()
                raw_w, raw_h = im.size
                try:
                    check_pixels(raw_w, raw_h, file=path)
                except ImageTooLargeError as exc:
                    return ImageFacts("unreadable", path, fmt, nbytes=nbytes, error=exc.message)
                orientation = exif_orientation(im)
                w, h = (raw_h, raw_w) if orientation in SWAPPING_ORIENTATIONS else (raw_w, raw_h)
                ok = True
                if deep or not _ends_well(fmt, f, nbytes):
                    f.seek(0)
                    ok, status, error = _decode(f)
                    if not ok:
                        return ImageFacts(status, path, fmt, w, h, raw_w, raw_h, orientation, nbytes, error)
                return ImageFacts("ok", path, fmt, w, h, raw_w, raw_h, orientation, nbytes)
    except OSError as exc:
        return ImageFacts("unreadable", path, error=f"cannot read: {exc.strerror or exc}")


def _decode(f: Any) -> tuple[bool, str, str | None]:
    try:
        with Image.open(f) as im:
            im.load()
        return True, "ok", None
    except Exception as exc:
        text = str(exc)
        status = "truncated" if "truncated" in text or "broken data stream" in text or isinstance(
            exc, EOFError) else "unreadable"
        return False, status, _plain(exc)


_REPR = re.compile(r"<_io\.\w+ name=(?P<name>'[^']*'|\"[^\"]*\"|\d+)>")


def _plain(exc: BaseException) -> str:
    """What Pillow said, for a person: no exception class, no ``<_io.BufferedReader name=...>``.

    Example:
        >>> _plain(OSError("cannot identify image file <_io.BufferedReader name='a.jpg'>"))
        'Pillow does not recognise it as an image'
        >>> _plain(OSError("image file is truncated (6 bytes not processed)"))
        'image file is truncated (6 bytes not processed)'
    """
    text = _REPR.sub(lambda m: m["name"], str(exc)) or type(exc).__name__
    if "cannot identify image file" in text:
        return "Pillow does not recognise it as an image"
    return text


def probe_shard(shard: Sequence[tuple[int, Sequence[str]]], deep: bool = False) -> list[tuple[int, ImageFacts]]:
    """`probe` over a shard of ``(asset index, candidate paths)``; the unit of work of the pool."""
    return [(i, probe(c, deep)) for i, c in shard]


def hash_files(paths: Sequence[str]) -> list[str | None]:
    """BLAKE2b digest of each file's bytes (None when it cannot be read)."""
    out: list[str | None] = []
    for p in paths:
        h = hashlib.blake2b(digest_size=16)
        try:
            with open(p, "rb") as f:
                for block in iter(lambda f=f: f.read(1 << 20), b""):
                    h.update(block)
            out.append(h.hexdigest())
        except OSError:
            out.append(None)
    return out


class ImageProbe:
    """Probes started in a pool (`start`) while the object rules run; `finish` emits the findings."""

    def __init__(self, ctx: Context, folder: str | os.PathLike[str], progress: bool = False) -> None:
        self.ctx = ctx
        self.folder = Path(folder)
        self.progress = progress
        self.executor: Executor | None = None
        self._engine: Any = None
        self.futures: list[Future[Any]] = []
        self.results: list[tuple[int, ImageFacts]] = []
        self.index = ImageIndex(self.folder)
        self.ambiguous: dict[int, tuple[Path, ...]] = {}

    def start(self) -> None:
        if not self.folder.is_dir():
            raise FileNotFoundError(2, "images folder not found", str(self.folder))
        work: list[tuple[int, tuple[str, ...]]] = []
        for i, a in enumerate(self.ctx.dataset.assets):
            if isinstance(a.file_name, str):
                match = self.index.lookup(a.file_name)
                if match.ambiguous:
                    self.ambiguous[i] = match.candidates
                work.append((i, (str(match.path),) if match.path is not None else ()))
        opts = self.ctx.options
        workers = opts.workers
        if workers is None:
            workers = os.cpu_count() or 1
        deep = opts.deep
        local = opts.engine in (None, "local")
        if local and (workers <= 0 or len(work) <= _SHARD):
            self.results = probe_shard(work, deep)
            return
        from ..engines import executor

        self._engine = executor(opts.engine, workers or None, opts.scheduler)
        self.executor = self._engine.__enter__()
        shard = _SHARD if local else max(1, min(_SHARD, -(-len(work) // (4 * max(workers, 1)))))
        self.futures = [self.executor.submit(probe_shard, work[s:s + shard], deep)
                        for s in range(0, len(work), shard)]

    def finish(self) -> dict[int, ImageFacts]:
        from ..progress import bar

        try:
            with bar(len(self.ctx.dataset.assets), "checking images", quiet=not self.progress or not self.futures,
                     unit="image") as b:
                b.update(len(self.results))
                for fut in self.futures:
                    shard = fut.result()
                    self.results += shard
                    b.update(len(shard))
            facts = dict(self.results)
            self._emit(facts)
            return facts
        finally:
            if self.executor is not None:
                self._engine.__exit__(None, None, None)

    def _hash(self, paths: list[str]) -> list[str | None]:
        if self.executor is None or len(paths) <= _SHARD:
            return hash_files(paths)
        futures = [self.executor.submit(hash_files, paths[s:s + _SHARD]) for s in range(0, len(paths), _SHARD)]
        out: list[str | None] = []
        for fut in futures:
            out += fut.result()
        return out

    def _emit(self, facts: dict[int, ImageFacts]) -> None:
        ctx = self.ctx
        emit = ctx.emit
        assets = ctx.dataset.assets
        for ai in sorted(facts):
            f = facts[ai]
            asset = assets[ai]
            if f.status == "missing":
                if ai in self.ambiguous:
                    names = ", ".join(repr(p.relative_to(self.folder).as_posix()) for p in self.ambiguous[ai][:5])
                    emit("image-missing", f"{asset.file_name!r} fits {len(self.ambiguous[ai])} files in "
                                          f"{str(self.folder)!r} equally well ({names}); none is taken", ai)
                else:
                    emit("image-missing", f"{asset.file_name!r} is not in {str(self.folder)!r}", ai)
                continue
            if f.status == "unreadable":
                emit("image-unreadable", f"{f.path}: {f.error}", ai)
                continue
            if f.status == "truncated":
                emit("image-truncated", f"{f.path}: the file ends early ({f.error})", ai)
                if f.format is None:  # cut inside its header: no type or size to compare
                    continue
            fmt = f.format or "?"
            if fmt not in PLATFORM_TYPES:
                emit("image-type-unsupported", f"{f.path} is {fmt.upper()}; the platform takes JPEG, PNG, BMP, "
                                               "GIF and TIFF", ai, data={"type": fmt})
            ext = Path(f.path or "").suffix.lower()
            expected = _EXTENSION_TYPES.get(ext)
            if expected is not None and expected != fmt and not (expected == "jpeg" and fmt == "mpo"):
                emit("image-extension-mismatch", f"{Path(f.path or '').name} is named {ext} but holds "
                                                 f"{fmt.upper()}", ai, data={"type": fmt, "extension": ext})
            self._check_size(ai, asset, f)
        if ctx.on("image-duplicate") and ctx.options.hash_images:
            self._duplicates(facts)
        if ctx.on("image-not-in-dataset"):
            norm = os.path.normpath
            found = {norm(f.path) for f in facts.values() if f.path} | ctx.left_out
            for path in map(str, self.index):
                if norm(path) not in found:
                    rel = Path(path).relative_to(self.folder).as_posix()
                    emit("image-not-in-dataset", f"{rel} is in the images folder but no asset names it", file=path)

    def _check_size(self, ai: int, asset: Any, f: ImageFacts) -> None:
        W, H = asset.width, asset.height
        emit = self.ctx.emit
        if f.orientation in (2, 3, 4):
            emit("image-exif-orientation", f"EXIF orientation {f.orientation} flips or turns the stored "
                                           "image for display", ai, data={"orientation": f.orientation})
        if W is None or H is None or W != W or H != H or W <= 0 or H <= 0:
            return
        if (W, H) == (f.width, f.height):
            return
        data = {"stated": [W, H], "file": [f.width, f.height], "stored": [f.raw_width, f.raw_height],
                "orientation": f.orientation}
        if f.orientation in SWAPPING_ORIENTATIONS and (W, H) == (f.raw_width, f.raw_height):
            emit("image-exif-swapped", f"stated {shown(W)}×{shown(H)} is the stored size, but EXIF orientation "
                                       f"{f.orientation} displays it as {f.width}×{f.height}", ai, data=data)
        else:
            emit("image-size-mismatch", f"stated {shown(W)}×{shown(H)}, but the file is {f.width}×{f.height}", ai,
                 data=data)

    def _duplicates(self, facts: dict[int, ImageFacts]) -> None:
        by_size: dict[int, list[int]] = {}
        for ai, f in facts.items():
            if f.status == "ok" and f.path:
                by_size.setdefault(f.nbytes, []).append(ai)
        todo = sorted(ai for group in by_size.values() if len(group) > 1 for ai in group)
        if not todo:
            return
        digests = self._hash([facts[ai].path for ai in todo])  # type: ignore[misc]
        first: dict[tuple[int, str], int] = {}
        first_path: dict[str, int] = {}
        assets = self.ctx.dataset.assets
        for ai, digest in zip(todo, digests):
            if digest is None:
                continue
            path = os.path.normpath(facts[ai].path)  # type: ignore[arg-type]
            if first_path.setdefault(path, ai) != ai:
                continue  # the same file named twice is duplicate-file-name's business
            key = (facts[ai].nbytes, digest)
            other = first.setdefault(key, ai)
            if other != ai:
                emit_name = assets[other].file_name
                self.ctx.emit("image-duplicate", f"same bytes as {emit_name!r}", ai,
                              data={"same_as": emit_name, "blake2b": digest})


