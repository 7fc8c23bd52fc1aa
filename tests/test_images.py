"""The one image index: every layout it supports, ambiguity named, bounded work; header sizes."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from PIL import Image

from picsellia_formats.errors import FormatError
from picsellia_formats.images import AmbiguousImageError, ImageIndex, image_size, image_type, is_image, iter_images

#: (files under the dataset folder, images folder relative to it, name as written, split hint, expected file)
LAYOUTS = [
    pytest.param(["images/a.jpg"], "images", "a.jpg", None, "images/a.jpg", id="flat"),
    pytest.param(["images/sub/a.jpg"], "images", "sub/a.jpg", None, "images/sub/a.jpg", id="relative-path"),
    pytest.param(["images/a.jpg"], "images", "images/a.jpg", None, "images/a.jpg", id="relative-to-dataset"),
    pytest.param(["images/a.jpg"], "images", "images\\a.jpg", None, "images/a.jpg", id="windows-separators"),
    pytest.param(["images/train/a.jpg"], "images", "a.jpg", None, "images/train/a.jpg", id="split-subfolder"),
    pytest.param(["images/train/a.jpg", "images/val/a.jpg"], "images", "a.jpg", "validation",
                 "images/val/a.jpg", id="split-hint-alias"),
    pytest.param(["images/a.JPG"], "images", "a.jpg", None, "images/a.JPG", id="extension-case"),
    pytest.param(["images/A.jpeg"], "images", "a.jpg", None, "images/A.jpeg", id="other-extension"),
    pytest.param(["images/a.png"], "images", "a", None, "images/a.png", id="stem-only"),
    pytest.param(["images/obj_train_data/x.jpg"], "images", "data/obj_train_data/x.jpg", None,
                 "images/obj_train_data/x.jpg", id="cvat-data-prefix"),
    pytest.param(["images/x.jpg"], "images", "obj_train_data/x.jpg", None, "images/x.jpg", id="foreign-prefix"),
    pytest.param(["images/obj_train_data/x.jpg", "images/other/x.jpg"], "images", "data/obj_train_data/x.jpg",
                 None, "images/obj_train_data/x.jpg", id="longest-trailing-match-wins"),
    pytest.param(["images/a.jpg", "images/sub/a.jpg"], "images", "a.jpg", None, "images/a.jpg",
                 id="as-written-wins-over-deeper"),
    pytest.param(["images/x.v2.jpg"], "images", "x.v2", None, "images/x.v2.jpg", id="dotted-stem"),
    pytest.param(["images/a.jpg"], "images", "b.jpg", None, None, id="missing"),
    pytest.param(["images/a.txt"], "images", "a.jpg", None, None, id="not-an-image"),
    pytest.param(["a.jpg"], "images", "../a.jpg", None, None, id="never-escapes"),
    pytest.param(["images/a.jpg"], "images", "../a.jpg", None, "images/a.jpg", id="dotdot-matched-inside"),
    pytest.param(["images/a.jpg"], "images", "/elsewhere/a.jpg", None, "images/a.jpg", id="absolute-elsewhere"),
]


def _make(root: Path, files: list[str]) -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (root / "images").mkdir(exist_ok=True)


@pytest.mark.parametrize(("files", "folder", "name", "split", "expected"), LAYOUTS)
def test_layouts(tmp_path: Path, files: list[str], folder: str, name: str, split: str | None,
                 expected: str | None) -> None:
    _make(tmp_path, files)
    index = ImageIndex(tmp_path / folder, tmp_path)
    found = index.find(name, split)
    assert (found.relative_to(tmp_path).as_posix() if found else None) == expected


@pytest.mark.parametrize(("files", "name"), [
    (["train/a.jpg", "val/a.jpg"], "a.jpg"),
    (["a.jpg", "a.png"], "a"),
    (["p/x.jpg", "q/x.jpg"], "data/x.jpg"),
])
def test_ambiguity_is_named_never_guessed(tmp_path: Path, files: list[str], name: str) -> None:
    _make(tmp_path, files)
    index = ImageIndex(tmp_path)
    with pytest.raises(AmbiguousImageError) as info:
        index.find(name)
    assert isinstance(info.value, FormatError)
    assert len(info.value.candidates) == 2 and name in str(info.value)
    match = index.lookup(name)
    assert match.ambiguous and match.path is None and len(match.candidates) == 2


def test_walks_once_lazily_and_pickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _make(tmp_path, ["images/a.jpg", "images/s/b.jpg"])
    import os

    walks = []
    real = os.walk
    monkeypatch.setattr(os, "walk", lambda *a, **k: walks.append(a) or real(*a, **k))
    index = ImageIndex(tmp_path / "images")
    assert index.find("a.jpg") is not None and not walks  # as written: no walk
    assert index.find("b.jpg") is not None and index.find("zz.jpg") is None and len(walks) == 1
    clone = pickle.loads(pickle.dumps(index))
    assert clone._by_name is None and clone.find("b.jpg") == tmp_path / "images" / "s" / "b.jpg"
    assert [p.name for p in index] == ["a.jpg", "b.jpg"] and len(index) == 2


def test_iter_images_and_is_image(tmp_path: Path) -> None:
    _make(tmp_path, ["images/B.PNG", "images/a.jpg", "images/n.txt", "images/d/c.tif"])
    assert [p.name for p in iter_images(tmp_path / "images")] == ["B.PNG", "a.jpg", "c.tif"]
    assert [p.name for p in iter_images(tmp_path / "images", recursive=False)] == ["B.PNG", "a.jpg"]
    assert is_image("x.JPEG") and not is_image("x.json")


@pytest.mark.parametrize(("orientation", "size"), [(1, (6, 4)), (3, (6, 4)), (6, (4, 6)), (8, (4, 6))])
def test_image_size_after_exif_orientation(tmp_path: Path, orientation: int, size: tuple[int, int]) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.jpg"
    Image.new("RGB", (6, 4)).save(path, exif=exif.tobytes())
    assert image_size(path) == size and image_type(path) == "jpeg"


def test_image_size_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"nope\.jpg: image file not found"):
        image_size(tmp_path / "nope.jpg")


RESOLVED = [p for p in LAYOUTS if p.values[4] is not None and p.values[3] is None]


@pytest.mark.parametrize(("files", "folder", "name", "split", "expected"), RESOLVED)
def test_validate_preview_and_rasterise_resolve_what_the_index_resolves(
        tmp_path: Path, files: list[str], folder: str, name: str, split: None, expected: str) -> None:
    from picsellia_formats.model import Annotation, Asset, Dataset, Label
    from picsellia_formats.preview import write_previews
    from picsellia_formats.rasterise import rasterise
    from picsellia_formats.validation import validate

    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 6), (200, 10, 10)).save(tmp_path / rel, "PNG" if rel.endswith(".png") else "JPEG")
    images = tmp_path / folder
    ann = Annotation("cat", box=(1.0, 1.0, 2.0, 2.0))
    report = validate(Dataset([Label("cat")], [Asset(name, 8, 6, [ann])]), images, rules=["image-missing"])
    assert not [f for f in report if f.code == "image-missing"]
    found = ImageIndex(images).find(name)
    assert found is not None and found.relative_to(tmp_path).as_posix() == expected
    import logging

    with pytest.MonkeyPatch.context() as mp:
        warnings: list[str] = []
        mp.setattr(logging.getLogger("picsellia_formats.preview"), "warning", lambda *a: warnings.append(a[0]))
        write_previews(Dataset([Label("cat")], [Asset(name, 8, 6, [ann])]), tmp_path / "out", images=images)
        assert not warnings
    done = rasterise(Dataset([Label("cat")], [Asset(name, 0, 0, [ann])]), tmp_path / "masks", images=images)
    assert done.stats["images"] == 1
