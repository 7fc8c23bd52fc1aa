"""The canonical model: equality, repr, kinds, counts, defaults that cannot be shared by mistake."""

from __future__ import annotations

import pytest

from picsellia_formats.model import EMPTY, QA, Annotation, Asset, Dataset, Label, Mask


def test_equality_compares_every_field() -> None:
    a = Annotation("car", box=(1.0, 2.0, 3.0, 4.0), score=0.5)
    assert a == Annotation("car", box=(1.0, 2.0, 3.0, 4.0), score=0.5)
    assert a != Annotation("car", box=(1.0, 2.0, 3.0, 4.0), score=0.6)
    assert a != Annotation("bus", box=(1.0, 2.0, 3.0, 4.0), score=0.5)
    assert Label("x", id=1) != Label("x", id=2)
    assert Mask(2, 2, "02") != Mask(2, 2, [0, 4])
    assert Asset("a.jpg", 1, 1) == Asset("a.jpg", 1, 1)
    assert Asset("a.jpg", 1, 1) != Asset("a.jpg", 1, 1, status="ACCEPTED")


def test_repr_shows_what_is_set() -> None:
    assert repr(Annotation("car", box=(1, 2, 3, 4))) == "Annotation(label='car', box=(1, 2, 3, 4))"
    assert repr(Label("cat", group="animal")) == "Label(name='cat', group='animal')"
    assert "annotations=<0>" in repr(Asset("a.jpg", 3, 4))
    assert repr(QA("text", "q", "a")) == "QA(kind='text', question='q', answer='a')"


@pytest.mark.parametrize("fields, kind", [
    ({"box": (0, 0, 1, 1)}, "box"),
    ({"box": (0, 0, 1, 1), "polygon": [[0, 0, 1, 0, 1, 1]]}, "polygon"),
    ({"mask": Mask(1, 1, [0, 1]), "polygon": [[0, 0, 1, 0, 1, 1]]}, "mask"),
    ({"keypoints": [1, 1, 2]}, "keypoints"),
    ({"line": [0, 0, 1, 1]}, "line"),
    ({"point": (1, 1)}, "point"),
    ({}, "classification"),
])
def test_kind(fields: dict, kind: str) -> None:
    assert Annotation("x", **fields).kind == kind


def test_shared_defaults_cannot_be_mutated_by_accident() -> None:
    a, b = Annotation("x"), Annotation("y")
    with pytest.raises(TypeError):
        a.attributes["k"] = 1  # type: ignore[index]
    a.set_attribute("k", 1)
    assert a.attributes == {"k": 1} and b.attributes == {} and EMPTY == {}
    one, two = Asset("1.jpg"), Asset("2.jpg")
    one.annotations.append(a)
    one.tags.append("train")
    assert two.annotations == [] and two.tags == []


def test_dataset_counts_iteration_and_labels() -> None:
    ds = Dataset([Label("b"), Label("a"), Label("unused")])
    ds.add_asset(Asset("1.jpg", 4, 4, [Annotation("a"), Annotation("b"), Annotation("a")]))
    ds.add_asset(Asset("2.jpg", 4, 4, [Annotation("new")]))
    assert ds.label_counts() == {"b": 1, "a": 2, "unused": 0, "new": 1}
    assert [a.file_name for a in ds] == ["1.jpg", "2.jpg"] and len(ds) == 2
    assert [ann.label for _, ann in ds.annotations()] == ["a", "b", "a", "new"]
    ds.ensure_labels()
    assert ds.label_names == ["b", "a", "unused", "new"]
    assert ds.add_label("a") is ds.labels[1]
    assert "annotations=4" in repr(ds)


def test_qa_kinds_and_dicts() -> None:
    data = {"type": "range", "question": "size?", "answer": 68, "max": 100, "min": 0, "unit": "cm"}
    qa = QA.from_dict(data)
    assert qa.kind == "range" and qa.min == 0 and qa.max == 100 and qa.extra == {"unit": "cm"}
    assert qa.to_dict() == {"type": "range", "question": "size?", "answer": 68, "min": 0, "max": 100, "unit": "cm"}
    mc = QA.from_dict({"type": "mc", "question": "c?", "answer": ["red"], "choices": ["red", "blue"]})
    assert mc.to_dict()["choices"] == ["red", "blue"]
    with pytest.raises(ValueError, match="not one of"):
        QA("essay", "q", "a")
    with pytest.raises(ValueError, match="lacks 'answer'"):
        QA.from_dict({"type": "text", "question": "q"})


def test_mask_encodings() -> None:
    assert Mask(2, 3, "0").compressed and not Mask(2, 3, [6]).compressed
    assert Mask(2, 3, [6]).to_coco() == {"size": [2, 3], "counts": [6]}


def test_datasets_pickle_for_worker_processes() -> None:
    import pickle

    import picsellia_formats as pf
    from tests.conftest import FIXTURES

    for src in (FIXTURES / "raccoon_voc/annotations", FIXTURES / "labelstudio_yolo/test_import_yolo_data",
                FIXTURES / "sahi_coco/coco_utils/combined_coco.json", "tests/data/picsellia/full.json"):
        ds = pf.read(src)
        back = pickle.loads(pickle.dumps(ds))
        assert back == ds
        assert back.assets[0].annotations[0].qa == ds.assets[0].annotations[0].qa
    fresh = pickle.loads(pickle.dumps(Annotation("x")))
    assert fresh.attributes is EMPTY and fresh.extra is EMPTY
