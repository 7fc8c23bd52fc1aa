"""Tests of picsellia_formats.stratify: objective, solvers, floors, result, logs, edge cases."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import picsellia_formats as pf
from picsellia_formats import Annotation, Asset, Dataset, Label
from picsellia_formats.stratify import exact as _split_exact
from picsellia_formats.stratify import greedy as _split_fast
from picsellia_formats.stratify.problem import Problem, count_matrix, image_targets, round_to_total

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def make_dataset(rows: list[dict[str, int]], prefix: str = "img") -> Dataset:
    """One asset per dict of label -> object count (an empty dict is an empty image)."""
    assets = []
    for i, row in enumerate(rows):
        anns = [Annotation(label, box=(0.0, 0.0, 1.0, 1.0)) for label, n in row.items() for _ in range(n)]
        assets.append(Asset(f"{prefix}_{i:05d}.jpg", 100, 100, anns, id=f"id-{i}"))
    ds = Dataset(assets=assets)
    ds.ensure_labels()
    return ds


def long_tail(n_images: int, seed: int, n_classes: int = 12) -> Dataset:
    rng = np.random.default_rng(seed)
    freq = 1.0 / np.arange(1, n_classes + 1) ** 1.3
    freq /= freq.sum()
    rows = []
    for _ in range(n_images):
        if rng.random() < 0.05:
            rows.append({})
            continue
        k = min(1 + rng.poisson(1.0), n_classes)
        classes = rng.choice(n_classes, size=k, replace=False, p=freq)
        rows.append({f"c{c}": int(rng.geometric(0.5)) for c in classes})
    return make_dataset(rows)


def brute_force(problem: Problem) -> float:
    """The optimum of the objective over every assignment meeting the image targets."""
    n = problem.counts.shape[0]
    best = np.inf
    for assign in itertools.product(range(problem.n_splits), repeat=n):
        a = np.asarray(assign, dtype=np.int8)
        if (np.bincount(a, minlength=problem.n_splits) == problem.image_targets).all():
            best = min(best, problem.objective(a))
    return float(best)


def read_fixture(rel: str) -> Dataset:
    return pf.read(FIXTURES / rel)


# -- hand-made cases with a known optimum ----------------------------------------------------

def test_single_class_known_optimum_zero() -> None:
    # 8 objects, 5 images split 3/2: {1,1,2} | {3,1} puts exactly 4 on each side.
    ds = make_dataset([{"a": 3}, {"a": 1}, {"a": 1}, {"a": 1}, {"a": 2}])
    for method in ("exact", "fast"):
        r = pf.split(ds, {"train": 0.5, "val": 0.5}, method=method)
        assert r.objects == {"train": {"a": 4}, "val": {"a": 4}}
        assert r.images == {"train": 3, "val": 2}
        assert r.objective == 0.0


def test_exact_reports_status_and_bound() -> None:
    ds = make_dataset([{"a": 3, "b": 1}, {"a": 1}, {"b": 2}, {"a": 1, "b": 1}, {"a": 2}, {"b": 1}])
    r = pf.split(ds, [0.5, 0.5], method="exact")
    assert r.method == "exact"
    assert r.milp is not None and r.milp["status"] == "optimal"
    assert r.milp["bound"] == pytest.approx(r.objective, abs=1e-6)
    assert r.summary()["milp"]["status"] == "optimal"


def test_presence_beats_proportion_for_a_two_image_class() -> None:
    # "rare" sits in two single-object images; 0.8 of 2 objects is best met by 2/0 (error 0.2),
    # but the class must be on both sides (1/1, error 0.3).
    rows = [{"common": 1}] * 8 + [{"rare": 1}, {"rare": 1}]
    ds = make_dataset(rows)
    for method in ("exact", "fast"):
        r = pf.split(ds, {"train": 0.8, "test": 0.2}, method=method)
        assert r.objects["train"]["rare"] == 1 and r.objects["test"]["rare"] == 1
        assert r.missing() == ([], [])
    r = pf.split(ds, {"train": 0.8, "test": 0.2}, method="exact", presence=False)
    assert r.objects["train"]["rare"] == 2
    assert r.missing()[0] == ["rare"]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("ratios", [[0.5, 0.5], [0.7, 0.3], [0.5, 0.3, 0.2]])
def test_exact_finds_the_brute_force_optimum(seed: int, ratios: list[float]) -> None:
    rng = np.random.default_rng(seed)
    n, c = (9, 3) if len(ratios) == 2 else (7, 3)
    dense = rng.integers(0, 4, size=(n, c)) * (rng.random((n, c)) < 0.6)
    dense[dense.sum(axis=1) == 0, 0] = 1
    problem = Problem.build(sp.csr_matrix(dense), ratios)
    out = _split_exact.solve(problem, time_limit=20)
    assert out.status == "optimal"
    optimum = brute_force(problem)
    assert problem.objective(out.assign) == pytest.approx(optimum, abs=1e-9)
    assert out.objective == pytest.approx(optimum, abs=1e-6)
    # the fast method never beats the optimum and meets the image targets exactly
    fast = _split_fast.solve(problem, seed=seed)
    assert problem.objective(fast) >= optimum - 1e-9
    assert (np.bincount(fast, minlength=len(ratios)) == problem.image_targets).all()


def test_identical_images_are_grouped_in_the_program() -> None:
    # 400 identical one-object images: one integer variable per split, solved at once.
    ds = make_dataset([{"a": 1}] * 400 + [{"a": 2, "b": 1}] * 3 + [{"b": 1}] * 5)
    r = pf.split(ds, [0.8, 0.1, 0.1], method="exact", time_limit=30)
    assert r.milp["status"] == "optimal"
    groups, sizes, _ = _split_exact.group_rows(count_matrix(ds)[1])
    assert groups.shape[0] == 3 and sorted(sizes.tolist()) == [3, 5, 400]


# -- floors ----------------------------------------------------------------------------------

def test_floors_by_hand() -> None:
    # class x: two images of 5 objects, p = 0.8: sums {0, 5, 10}; best 10 (error 0.2);
    # present on both sides forces 5 (error 0.3). class y: ten single objects: 8 exactly.
    dense = np.array([[5, 1]] * 2 + [[0, 1]] * 8)
    plain, present = Problem.build(sp.csr_matrix(dense), [0.8, 0.2]).floors()
    assert plain.tolist() == pytest.approx([0.2, 0.0])
    assert present.tolist() == pytest.approx([0.3, 0.0])


@pytest.mark.parametrize("seed", range(5))
def test_floor_is_a_lower_bound(seed: int) -> None:
    ds = long_tail(300, seed)
    r = pf.split(ds, [0.7, 0.2, 0.1], seed=seed, method="fast")
    scored = np.array([t >= 2 for t in count_matrix(ds)[1].sum(axis=0).A1])
    assert (r.error[scored] >= r.floor_presence[scored] - 1e-12).all()
    assert (r.floor_presence >= r.floor - 1e-12).all()
    assert r.objective >= r.lower_bound - 1e-9


# -- determinism, sizes, presence on real fixtures ---------------------------------------------

@pytest.mark.parametrize(("method", "n_images"), [("fast", 3000), ("auto", 60)])
def test_deterministic_per_seed(method: str, n_images: int) -> None:
    ds = long_tail(n_images, 1)
    first = pf.split(ds, [0.8, 0.1, 0.1], seed=7, method=method, time_limit=60)
    again = pf.split(ds, [0.8, 0.1, 0.1], seed=7, method=method, time_limit=60)
    assert first.assignment == again.assignment
    if method == "auto":
        assert first.milp is not None and first.milp["status"] == "optimal"
    assert pf.split(ds, [0.8, 0.2]).assignment == pf.split(ds, [0.8, 0.2], seed=0).assignment


def test_seed_changes_tie_breaks() -> None:
    ds = make_dataset([{"a": 1}] * 50)
    splits = {tuple(pf.split(ds, [0.5, 0.5], seed=s, method="fast").assignment) for s in range(5)}
    assert len(splits) > 1


@pytest.mark.parametrize("ratios", [[0.8, 0.2], [0.5, 0.5], [0.7, 0.2, 0.1], [0.6, 0.2, 0.1, 0.1]])
@pytest.mark.parametrize("n_images", [1, 2, 7, 113])
def test_image_counts_within_one_image(ratios: list[float], n_images: int) -> None:
    ds = long_tail(n_images, n_images)
    r = pf.split(ds, ratios, method="fast")
    counts = np.array(list(r.images.values()))
    assert counts.sum() == n_images
    assert (np.abs(counts - np.array(ratios) * n_images) < 1).all()
    empty = np.array([sum(1 for a, s in zip(ds.assets, r.assignment) if s == name and not a.annotations)
                      for name in r.names])
    n_empty = sum(1 for a in ds.assets if not a.annotations)
    assert (np.abs(empty - np.array(ratios) * n_empty) < 1).all()


@pytest.mark.parametrize("seed", range(30))
def test_controlled_rounding_of_targets(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ratios = rng.dirichlet(np.ones(int(rng.integers(2, 5))))
    n = int(rng.integers(0, 60))
    labelled = int(rng.integers(0, n + 1))
    lab, emp = image_targets(ratios, n, labelled)
    assert lab.sum() == labelled and emp.sum() == n - labelled
    for got, want in ((lab, ratios * labelled), (emp, ratios * (n - labelled)), (lab + emp, ratios * n)):
        assert (np.abs(got - want) < 1).all()


FIXTURE_SETS = [
    "raccoon_voc/annotations",
    "sahi_coco/coco_utils/visdrone2019-det-train-first50image.json",
    "picsellia_coco_det/annotations.json",
    "voc_toy_cats/gts_coco_format/toy_example_coco.JSON",
    "sahi_coco/coco_utils/terrain_all_coco.json",
    "labelstudio_yolo/test_import_yolo_data",
]


@pytest.mark.parametrize("ratios", [[0.8, 0.2], [0.7, 0.15, 0.15]])
@pytest.mark.parametrize("rel", FIXTURE_SETS)
def test_fixtures_every_class_on_every_side(rel: str, ratios: list[float]) -> None:
    ds = read_fixture(rel)
    r = pf.split(ds, ratios, seed=0)
    k = len(ratios)
    _, counts = count_matrix(ds)
    per_class = np.bincount(counts.indices, minlength=counts.shape[1])
    capacity = min(k, sum(1 for n in r.images.values() if n > 0))
    for c, name in enumerate(r.classes):
        sides = sum(1 for s in r.names if r.images_per_class[s][name] > 0)
        assert sides >= min(per_class[c], capacity), (name, r.images_per_class)
    assert r.missing()[0] == []
    assert sum(r.images.values()) == len(ds)


def test_three_way_split_of_fixture_meets_floor() -> None:
    ds = read_fixture("sahi_coco/coco_utils/visdrone2019-det-train-first50image.json")
    r = pf.split(ds, {"train": 0.8, "val": 0.1, "test": 0.1}, seed=0)
    s = r.summary()
    assert r.images == {"train": 40, "val": 5, "test": 5}
    assert s["mean_error"] <= s["mean_floor_presence"] + 1e-3


# -- result, sub-datasets, logs, JSON ---------------------------------------------------------

def test_datasets_partition_the_input() -> None:
    ds = long_tail(200, 3)
    ds.metadata = {"coco": {"info": {"year": 2024}}}
    r = pf.split(ds, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=2, method="fast")
    parts = r.datasets()
    assert list(parts) == ["train", "val", "test"]
    names = [a.file_name for p in parts.values() for a in p.assets]
    assert sorted(names) == sorted(a.file_name for a in ds.assets)
    for name, part in parts.items():
        assert part.label_names == ds.label_names
        assert part.metadata == ds.metadata
        assert all(r.by_file_name()[a.file_name] == name for a in part.assets)
        assert part.num_annotations == sum(r.objects[name].values())


def test_platform_logs() -> None:
    ds = make_dataset([{"car": 2}, {"car": 1, "bus": 1}, {"bus": 2}, {}, {"car": 1}])
    ds.labels.append(Label("bike"))  # declared, no object
    r = pf.split(ds, {"train": 0.6, "val": 0.2, "test": 0.2})
    logs = {e["name"]: e for e in r.platform_logs()}
    assert set(logs) == {"train-split", "eval-split", "test-split", "labelmap"}
    assert logs["labelmap"] == {"name": "labelmap", "type": "labelmap",
                                "data": {"1": "car", "2": "bus", "3": "bike"}}
    ids = []
    for name, log in (("train", "train-split"), ("val", "eval-split"), ("test", "test-split")):
        entry = logs[log]
        assert entry["type"] == "bar"
        assert entry["data"]["x"] == ["car", "bus", "bike"]
        assert entry["data"]["y"] == [r.objects[name]["car"], r.objects[name]["bus"], 0]
        ids += entry["data"]["image_list"]
    assert sorted(ids) == [f"id-{i}" for i in range(5)]


def test_to_json_round_trip() -> None:
    ds = long_tail(120, 4)
    r = pf.split(ds, [0.8, 0.2], seed=5)
    data = json.loads(r.to_json())
    assert data["assignment"] == r.by_file_name()
    assert [s["images"] for s in data["splits"]] == list(r.images.values())
    assert data["summary"]["mean_error"] == pytest.approx(float(r.error[r.counts.sum(axis=0).A1 >= 2].mean()),
                                                          abs=1e-6)
    by_name = {c["name"]: c for c in data["classes"]}
    for cls in r.classes:
        assert by_name[cls]["per_split"]["train"]["objects"] == r.objects["train"][cls]
    assert {e["name"] for e in data["platform_logs"]} == {"train-split", "eval-split", "labelmap"}
    assert "train" in r.table() and "mean error" in r.table()


def test_deviation_and_error_definitions() -> None:
    ds = make_dataset([{"a": 3}, {"a": 1}, {"a": 1}, {"a": 1}])  # 6 objects; 3 / 1 images
    r = pf.split(ds, {"train": 0.75, "val": 0.25}, method="exact")
    train = r.objects["train"]["a"]
    assert r.deviation["train"]["a"] == pytest.approx(train - 4.5)
    assert r.error[0] == pytest.approx(abs(train / 6 - 0.75))


# -- edge cases --------------------------------------------------------------------------------

def test_one_image() -> None:
    r = pf.split(make_dataset([{"a": 3}]), [0.8, 0.2])
    assert r.images == {"train": 1, "val": 0}
    assert r.missing() == ([], ["a"])


def test_all_images_empty() -> None:
    r = pf.split(make_dataset([{}] * 10), [0.7, 0.3])
    assert r.images == {"train": 7, "val": 3}
    assert r.classes == [] and r.summary()["mean_error"] is None
    assert len(r.datasets()["val"]) == 3


def test_empty_dataset() -> None:
    r = pf.split(Dataset(), [0.5, 0.5])
    assert r.images == {"train": 0, "val": 0}
    assert r.datasets()["train"].assets == []


def test_class_in_one_image_only() -> None:
    ds = make_dataset([{"a": 1}, {"a": 1}, {"a": 1, "solo": 4}, {"a": 1}, {"a": 1}])
    r = pf.split(ds, [0.6, 0.4])
    avoidable, one_sided = r.missing()
    assert avoidable == [] and one_sided == ["solo"]
    assert sum(r.objects[s]["solo"] for s in r.names) == 4


def test_unicode_file_names_and_undeclared_labels() -> None:
    ds = Dataset(labels=[Label("chat")], assets=[
        Asset("été/ü.jpg", annotations=[Annotation("chat"), Annotation("狗")]),
        Asset("b.jpg", annotations=[Annotation("狗")]),
    ])
    r = pf.split(ds, [0.5, 0.5])
    assert r.classes == ["chat", "狗"]
    assert set(r.by_file_name()) == {"été/ü.jpg", "b.jpg"}
    assert json.loads(r.to_json())["assignment"]["été/ü.jpg"] in ("train", "val")


@pytest.mark.parametrize(("ratios", "message"), [
    ([0.8, 0.1], "ratios must sum to 1, got 0.9"),
    ({"train": 0.7, "val": 0.4}, "ratios must sum to 1, got 1.1 (train 0.7 + val 0.4)"),
    ([1.2, -0.2], "every ratio must be a number > 0"),
    ([0.5, 0.0, 0.5], "every ratio must be a number > 0"),
    ([float("nan"), 0.5], "every ratio must be a number > 0"),
    ({"a/b": 0.5, "c": 0.5}, "not usable as a folder name"),
    ([("x", 0.5), ("x", 0.5)], "split names must differ"),
    ([], "at least one split"),
    (["a", "b"], "ratios must be numbers"),
])
def test_bad_ratios(ratios: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        pf.split(make_dataset([{"a": 1}]), ratios)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "milp"}, "method must be one of"),
    ({"time_limit": 0}, "time_limit must be a positive"),
])
def test_bad_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pf.split(make_dataset([{"a": 1}]), [0.5, 0.5], **kwargs)  # type: ignore[arg-type]


def test_single_split_takes_everything() -> None:
    r = pf.split(make_dataset([{"a": 1}, {"b": 2}]), {"all": 1.0})
    assert r.images == {"all": 2} and r.summary()["mean_error"] == 0.0


def test_round_to_total() -> None:
    assert round_to_total([0.8, 0.1, 0.1], 15).tolist() == [12, 2, 1]
    assert round_to_total([1 / 3] * 3, 10).tolist() == [4, 3, 3]
    assert round_to_total([0.5, 0.5], 0).tolist() == [0, 0]


def test_exact_falls_back_when_no_solution(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_solution(problem: Problem, time_limit: float = 10.0,
                    node_limit: int | None = None) -> _split_exact.ExactResult:
        return _split_exact.ExactResult(None, "time limit", None, 1.0, None, time_limit, "no incumbent")

    monkeypatch.setattr(_split_exact, "solve", no_solution)
    r = pf.split(long_tail(50, 0), [0.8, 0.2], method="exact")
    assert r.method == "fast" and r.milp["status"] == "time limit"
    assert sum(r.images.values()) == 50
