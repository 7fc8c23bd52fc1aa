"""Image files: the one image index (find an asset's file under an images folder) and header sizes.

Lookup policy of `ImageIndex` (the same for every reader, writer and command), for a file name
as an annotation writes it (``/`` or ``\\`` separators, any case):

1. the path as written, relative to the images folder, then to the dataset folder (an absolute
   path only as itself); when that file exists it is the answer, whatever else the folder holds;
2. otherwise the images folder is walked once (lazily, on the first miss; only image names are
   kept) and the candidates are its image files with the same base name, case-insensitive, or,
   when there is none, with the same stem and any known image extension (``x.png`` written,
   ``x.jpg`` on disk; ``x`` written without an extension);
3. among the candidates, those whose folders match most of the written path's trailing
   components win: ``data/obj_train_data/x.jpg`` finds ``obj_train_data/x.jpg`` before
   ``other/x.jpg``, and a prefix that is not a folder here (``data/``) costs nothing; a `split`
   hint (``train``, ``val``...) picks the candidate under a folder naming that split (any alias);
4. one winner is the answer; several are an `AmbiguousImageError` naming them (`lookup` returns
   them instead), never a silent pick; none is a miss.

Example:
    >>> index = ImageIndex("fixtures/sahi_coco")
    >>> index.find("data/coco_utils/TERRAIN1.JPG").as_posix()
    'fixtures/sahi_coco/coco_utils/terrain1.jpg'
    >>> image_size("fixtures/sahi_coco/coco_utils/terrain1.jpg")
    (2048, 1365)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from .errors import FormatError
from .image_header import SWAPPING, exif_orientation, read_file_header
from .splits import canonical_split

__all__ = [
    "IMAGE_EXTENSIONS", "SWAPPING_ORIENTATIONS", "AmbiguousImageError", "BrokenImage", "ImageIndex", "ImageMatch",
    "exif_orientation", "image_size", "image_type", "is_image", "iter_images", "size_or_broken",
]

#: Extensions recognised as images (compared lower-case).
IMAGE_EXTENSIONS = frozenset((".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"))
#: EXIF orientations that swap width and height (the table lives in `image_header`).
SWAPPING_ORIENTATIONS = SWAPPING


class AmbiguousImageError(FormatError):
    """Several image files fit one annotation's file name equally well; `candidates` names them."""

    def __init__(self, name: str, candidates: list[Path], folder: Path) -> None:
        self.candidates = candidates
        shown = ", ".join(repr(str(p)) for p in candidates[:5]) + (" ..." if len(candidates) > 5 else "")
        super().__init__(f"{len(candidates)} files under {str(folder)!r} fit {name!r}: {shown}; write the "
                         "image's path relative to the images folder to say which", record=f"image {name!r}")


@dataclass(frozen=True)
class ImageMatch:
    """The outcome of one lookup: `path` when exactly one file fits, else the fitting `candidates`."""

    path: Path | None
    candidates: tuple[Path, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.path is None and len(self.candidates) > 1


def is_image(path: str | os.PathLike[str]) -> bool:
    """Whether `path` has a known image extension (any case)."""
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def _parts(name: str) -> list[str]:
    return [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]


class ImageIndex:
    """Finds image files under `folder` (and `dataset_folder`) by one policy (see the module doc).

    The folder is walked at most once, on the first name that is not where it is written; the
    index keeps image names only (relative paths grouped by lower-case name and stem). An index
    is read-only after that walk, so it can be shared by the jobs of a pool (pickled, it walks again).

    Example:
        >>> index = ImageIndex("fixtures/sahi_coco")
        >>> index.lookup("terrain2").path.name
        'terrain2.png'
    """

    def __init__(self, folder: str | os.PathLike[str], dataset_folder: str | os.PathLike[str] | None = None
                 ) -> None:
        self.folder = Path(folder)
        self.dataset_folder = Path(dataset_folder) if dataset_folder is not None else None
        self._by_name: dict[str, list[str]] | None = None
        self._by_stem: dict[str, list[str]] = {}

    def __getstate__(self) -> dict[str, object]:
        return {"folder": self.folder, "dataset_folder": self.dataset_folder}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["folder"], state["dataset_folder"])  # type: ignore[misc,arg-type]

    def find(self, name: str, split: str | None = None) -> Path | None:
        """The one image file for `name`, None when there is none.

        Raises AmbiguousImageError naming the candidates when several fit equally well.
        """
        match = self.lookup(name, split)
        if match.ambiguous:
            raise AmbiguousImageError(name, list(match.candidates), self.folder)
        return match.path

    def lookup(self, name: str, split: str | None = None) -> ImageMatch:
        """Like `find`, but ambiguity is returned (``path`` None, ``candidates`` listed), never raised."""
        direct = self._as_written(name)
        if direct is not None:
            return ImageMatch(direct, (direct,))
        parts = [p for p in _parts(name) if p != ".."]  # matched inside the folder only
        if not parts:
            return ImageMatch(None)
        rels = self._candidates(parts[-1])
        if not rels:
            return ImageMatch(None)
        best = _best(rels, parts, split)
        paths = tuple(self.folder / r for r in best)
        return ImageMatch(paths[0] if len(paths) == 1 else None, paths)

    def __iter__(self) -> Iterator[Path]:
        """Every image file of the folder, sorted by relative path."""
        self._walk()
        assert self._by_name is not None
        for rel in sorted(PurePosixPath(r) for rels in self._by_name.values() for r in rels):
            yield self.folder / rel

    def __len__(self) -> int:
        self._walk()
        assert self._by_name is not None
        return sum(len(v) for v in self._by_name.values())

    def _as_written(self, name: str) -> Path | None:
        if not name or "\x00" in name:
            return None
        written = name.replace("\\", "/")
        if os.path.isabs(written):
            return Path(written) if os.path.isfile(written) else None
        if ".." in _parts(written):
            return None  # never outside the folders
        for root in (self.folder, self.dataset_folder):
            if root is not None:
                candidate = root / written
                if candidate.is_file():
                    return candidate
        return None

    def _walk(self) -> None:
        if self._by_name is not None:
            return
        by_name: dict[str, list[str]] = {}
        by_stem: dict[str, list[str]] = {}
        root = os.fspath(self.folder)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            prefix = "" if rel_dir == "." else rel_dir + "/"
            for file in sorted(filenames):
                stem, ext = os.path.splitext(file)
                if ext.lower() in IMAGE_EXTENSIONS:
                    by_name.setdefault(file.lower(), []).append(prefix + file)
                    by_stem.setdefault(stem.lower(), []).append(prefix + file)
        self._by_name, self._by_stem = by_name, by_stem

    def _candidates(self, base: str) -> list[str]:
        self._walk()
        assert self._by_name is not None
        exact = self._by_name.get(base.lower())
        if exact:
            return exact
        stem, ext = os.path.splitext(base)
        key = stem if ext.lower() in IMAGE_EXTENSIONS else base  # "x.v2" has no extension to drop
        return self._by_stem.get(key.lower(), [])


def _best(rels: list[str], parts: list[str], split: str | None) -> list[str]:
    """The candidates matching most trailing folders of the written name (then the split, then case)."""
    written_dirs = [p.lower() for p in parts[:-1]]

    def score(rel: str) -> int:
        dirs = [p.lower() for p in PurePosixPath(rel).parts[:-1]]
        n = 0
        while n < min(len(dirs), len(written_dirs)) and dirs[-1 - n] == written_dirs[-1 - n]:
            n += 1
        return n

    scored = [(score(r), r) for r in rels]
    top = max(s for s, _ in scored)
    best = [r for s, r in scored if s == top]
    if len(best) > 1 and split is not None:
        wanted = canonical_split(split) or split.lower()
        in_split = [r for r in best if any((canonical_split(d) or d.lower()) == wanted
                                           for d in PurePosixPath(r).parts[:-1])]
        best = in_split or best
    if len(best) > 1:
        same_case = [r for r in best if PurePosixPath(r).name == parts[-1]]
        best = same_case if len(same_case) == 1 else best
    return best


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(width, height)`` as displayed, i.e. after EXIF orientation, read from the header only.

    Raises FormatError naming the file when it is missing, not an image, or claims more pixels
    than Pillow's ``MAX_IMAGE_PIXELS``.
    """
    return read_file_header(path).displayed_size


class BrokenImage(NamedTuple):
    """An image whose header a reader needed (for the asset's size) but could not read.

    Readers that take ``broken_images=[]`` (YOLO, VOC) append one per such image instead of failing,
    so that the validator can name each file as a finding and check the rest. `left_out`: the asset
    is not in the dataset (YOLO: its values are relative to the size, so its objects cannot be
    placed); otherwise it is kept without a size (VOC: its corners are in pixels already).
    `objects`: how many objects (label rows) the left-out asset had.
    """

    file_name: str
    path: Path
    error: FormatError
    left_out: bool
    objects: int = 0


def size_or_broken(path: str | os.PathLike[str], file_name: str, broken: list[BrokenImage] | None, *,
                   left_out: bool, objects: int = 0) -> tuple[int, int] | None:
    """`image_size` of `path`; when its header cannot be read and `broken` is a list, None after
    appending a `BrokenImage` to it (else the FormatError naming the file is raised).

    Example:
        >>> broken = []
        >>> size_or_broken("no/such.jpg", "such.jpg", broken, left_out=True), broken[0].error.message
        (None, 'image file not found')
    """
    try:
        return image_size(path)
    except FormatError as exc:
        if broken is None:
            raise
        broken.append(BrokenImage(file_name, Path(path), exc, left_out, objects))
        return None


def image_type(path: str | os.PathLike[str]) -> str:
    """The real type of an image from its bytes (``jpeg``, ``png``, ``bmp``, ``webp``…), not its name.

    Raises FormatError naming the file when it is missing or not an image.
    """
    return read_file_header(path, max_pixels=None).format


def iter_images(folder: str | os.PathLike[str], recursive: bool = True) -> Iterator[Path]:
    """Image files under `folder`, sorted, any case of extension."""
    if recursive:
        yield from ImageIndex(folder)
        return
    yield from sorted(p for p in Path(folder).iterdir() if is_image(p) and p.is_file())


#: Where images usually sit beside annotations, relative to the source's folder, in the order tried.
IMAGES_FOLDER_GUESSES = ("images", "JPEGImages", "../images", ".")


def default_images_folder(src: str | os.PathLike[str], first_image: str | None = None) -> Path | None:
    """The images folder of an annotation file or folder `src` when the user gave none.

    The first of `IMAGES_FOLDER_GUESSES` where an `ImageIndex` finds `first_image` (one asset's
    file name); without one, or when none finds it, the first guess that is a folder.

    Example:
        >>> default_images_folder("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON").as_posix()
        'fixtures/voc_toy_cats/images'
    """
    src = Path(src)
    base = src if src.is_dir() else src.parent
    folders = [f for f in (base / g for g in IMAGES_FOLDER_GUESSES) if f.is_dir()]
    folders = [Path(os.path.normpath(f)) for f in folders]
    if first_image:
        for folder in folders:
            match = ImageIndex(folder, base).lookup(first_image)
            if match.path is not None or match.ambiguous:
                return folder
    return folders[0] if folders else None
