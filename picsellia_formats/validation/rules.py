"""The rule catalogue: every finding code, its severity, what it means and its safe fix.

This table is the single source of truth: the validator takes severities from it, the CLI lists
it, and ``docs/validation.md`` is checked against it by the tests.

Example:
    >>> RULES["bbox-out-of-image"].severity, RULES["bbox-out-of-image"].fix
    ('error', 'drop the object')
    >>> sorted(CATEGORIES)
    ['dataset', 'geometry', 'images', 'qa', 'structure']
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import OptionError

#: px a box or polygon may pass an image edge by without being "out of the image": the overshoot
#: of coordinates stored with 6 decimals (YOLO) or as float sums (x + w), never a visible pixel
EDGE_TOLERANCE = 1e-3

SEVERITIES = ("error", "warning", "info")
#: rank of a severity: lower is worse
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Rule:
    """One finding code: its category, severity, one-line meaning and safe fix ('' when none)."""

    code: str
    category: str
    severity: str
    summary: str
    fix: str = ""


_TABLE: tuple[tuple[str, str, str, str, str], ...] = (
    # structure
    ("duplicate-file-name", "structure", "error",
     "two assets name the same image file", ""),
    ("duplicate-asset-id", "structure", "error",
     "two images share an id (the later record is left out)", "drop the later image record"),
    ("duplicate-object-id", "structure", "error",
     "two objects share an id (pycocotools keeps only one of them)", ""),
    ("duplicate-label-id", "structure", "error",
     "two categories share an id (the later one is left out)", "drop the later category record"),
    ("unknown-asset", "structure", "error",
     "an object refers to an image that is not declared", "drop the object"),
    ("unknown-label", "structure", "error",
     "an object refers to a category id that is not declared", "drop the object"),
    ("undeclared-label", "structure", "error",
     "an object's label is missing from the dataset's label list", "declare the label"),
    ("label-unused", "structure", "warning",
     "a label is declared but no object uses it", ""),
    ("label-near-duplicate", "structure", "error",
     "labels that differ only by case or surrounding spaces", "merge the ones that differ by spaces only"),
    ("label-whitespace", "structure", "warning",
     "a label name starts or ends with spaces", "strip the spaces"),
    ("label-empty", "structure", "error",
     "a label name is empty", ""),
    ("file-name-unsafe", "structure", "error",
     "an image file name is empty, absolute or climbs out with '..'", ""),
    # geometry
    ("non-finite-coordinate", "geometry", "error",
     "a coordinate or size is NaN or infinite", "drop the object"),
    ("box-negative-size", "geometry", "error",
     "a box has a negative width or height", "drop the object"),
    ("box-zero-size", "geometry", "error",
     "a box has a zero width or height", "drop the object"),
    ("bbox-out-of-image", "geometry", "error",
     "a box lies wholly outside its image", "drop the object"),
    ("bbox-partly-out-of-image", "geometry", "warning",
     "a box reaches outside its image", "clip the box to the image"),
    ("polygon-out-of-image", "geometry", "error",
     "a polygon lies wholly outside its image", "drop the object"),
    ("polygon-partly-out-of-image", "geometry", "warning",
     "a polygon reaches outside its image", "clip the polygon to the image"),
    ("points-out-of-image", "geometry", "warning",
     "a keypoint, line or point lies outside its image", ""),
    ("polygon-too-few-points", "geometry", "error",
     "a polygon part has fewer than 3 distinct points", "drop the part (the object if none is left)"),
    ("polygon-zero-area", "geometry", "error",
     "a polygon part has no area (its points are collinear)", "drop the part (the object if none is left)"),
    ("polygon-self-intersecting", "geometry", "warning",
     "a polygon part crosses itself, so its inside is ambiguous", "repair it (shapely make_valid)"),
    ("rle-size-mismatch", "geometry", "error",
     "a mask's size differs from its image's size", ""),
    ("object-too-small", "geometry", "warning",
     "an object is smaller than the size threshold", ""),
    ("area-mismatch", "geometry", "warning",
     "the stated area disagrees with the geometry (by more than 15 % and 16 px²)",
     "drop the stated area (writers recompute it)"),
    ("bbox-geometry-mismatch", "geometry", "warning",
     "the stated box does not match the polygon or mask (by more than 2 px)", "recompute the box"),
    ("duplicate-object", "geometry", "warning",
     "the same label and shape twice on one image", "drop the repeat"),
    ("image-size-invalid", "geometry", "error",
     "an image's stated width or height is zero, negative or not a number",
     "take the size from the image header"),
    ("image-size-unknown", "geometry", "warning",
     "an image has no stated size, so positions cannot be checked", "take the size from the image header"),
    # images
    ("image-missing", "images", "error",
     "the image file is not in the images folder", ""),
    ("image-unreadable", "images", "error",
     "the image file is not an image Pillow can open", ""),
    ("image-truncated", "images", "error",
     "the image file ends early (no JPEG EOI / PNG IEND, and it does not decode)", ""),
    ("image-type-unsupported", "images", "error",
     "the image type is not one the platform takes (JPEG, PNG, BMP, GIF, TIFF)", ""),
    ("image-extension-mismatch", "images", "warning",
     "the file name's extension does not match the image's real type", ""),
    ("image-size-mismatch", "images", "error",
     "the stated size differs from the image file's size", ""),
    ("image-exif-swapped", "images", "error",
     "the stated size is the stored size, but EXIF orientation 5-8 shows the image turned (width and "
     "height swapped)", "apply the displayed size and turn the geometry with the image"),
    ("image-exif-orientation", "images", "info",
     "EXIF orientation 2-4 flips or turns the image without changing its size; check the "
     "annotations were drawn on the displayed image", ""),
    ("image-duplicate", "images", "warning",
     "the same image bytes under different file names", ""),
    ("image-not-in-dataset", "images", "info",
     "an image file in the folder that no asset names", ""),
    # Q&A and attributes
    ("answer-wrong-type", "qa", "error",
     "an answer or attribute value has the wrong type for its question", ""),
    ("answer-not-in-choices", "qa", "error",
     "an answer is not among the question's choices", ""),
    ("answer-out-of-range", "qa", "error",
     "a range answer is outside min..max", ""),
    ("answer-missing", "qa", "error",
     "a required question or attribute is unanswered", ""),
    # dataset
    ("dataset-empty", "dataset", "warning",
     "the dataset has no assets", ""),
    ("asset-empty", "dataset", "info",
     "an image has no objects", ""),
    ("class-few-objects", "dataset", "warning",
     "a label has fewer objects than the threshold (default 10)", ""),
    ("class-imbalance", "dataset", "warning",
     "the most frequent label has over N times the objects of the rarest (default 50)", ""),
)

RULES: dict[str, Rule] = {row[0]: Rule(*row) for row in _TABLE}
CATEGORIES: frozenset[str] = frozenset(r.category for r in RULES.values())


def select(rules: object = None, skip: object = None) -> frozenset[str]:
    """The codes to run: `rules` (codes and/or categories; None = all) minus `skip`.

    Raises ValueError naming an unknown code or category.

    Example:
        >>> sorted(select(["qa"], skip=["answer-missing"]))
        ['answer-not-in-choices', 'answer-out-of-range', 'answer-wrong-type']
    """
    def expand(names: object) -> set[str]:
        if isinstance(names, str):
            names = [n for n in names.replace(",", " ").split() if n]
        out: set[str] = set()
        for name in names:  # type: ignore[union-attr]
            if name in RULES:
                out.add(name)
            elif name in CATEGORIES:
                out.update(c for c, r in RULES.items() if r.category == name)
            else:
                raise OptionError(f"unknown rule or category {name!r}; categories: {', '.join(sorted(CATEGORIES))}")
        return out

    chosen = set(RULES) if rules is None else expand(rules)
    if skip is not None:
        chosen -= expand(skip)
    return frozenset(chosen)
