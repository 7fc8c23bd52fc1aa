"""Split quality: our object-count split against a random split, iterative stratification and Datumaro.

On the bundled real fixtures and on seeded synthetic long-tailed sets (1k, 10k, 100k images,
3 dataset seeds each), for a train/test split with p = 0.8, it prints per method: time,
image-proportion error, mean per-class error (classes with >= 2 objects), max per-class error
over classes with >= 20 objects, and avoidable missing classes (classes in >= 2 images absent
from train or test, summed over seeds), beside the per-class floors (the best each class can
reach alone: plain, and with the class required on both sides).

    python benchmarks/split_quality.py                      # everything (a few minutes)
    python benchmarks/split_quality.py --sizes 1000 --seeds 0
    DATUMARO_PYTHON=/tmp/dm-venv/bin/python python benchmarks/split_quality.py

Peers: ``iterative-stratification`` (``pip install iterative-stratification``; its
MultilabelStratifiedShuffleSplit on the image x class presence matrix) and Datumaro's
``transform("split", task="detection")`` run in the interpreter named by ``DATUMARO_PYTHON``
(Datumaro pins versions that clash with ours, so it lives in its own virtual environment:
``python -m venv /tmp/dm-venv && /tmp/dm-venv/bin/pip install datumaro``); its time excludes
building its Dataset. ``random`` is the mean of 5 shuffles. Synthetic sets follow
the split study the project started from: 80 classes, Zipf(1.6) frequencies over 70, each image
1 + Poisson(1.6) distinct classes with class-specific geometric instance counts (class 0
crowd-like), 2 % empty images, plus 10 rare classes in ~Poisson(1, 1, 2, 2, 3, 4, 6, 9, 14, 20)
images whatever the size. They are built directly as model objects, so our time includes
counting objects in a `Dataset`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import picsellia_formats as pf  # noqa: E402
from picsellia_formats.stratify.problem import Problem, count_matrix  # noqa: E402

P = 0.8
RARE_IMAGES = (1, 1, 2, 2, 3, 4, 6, 9, 14, 20)
FIXTURES = [
    "raccoon_voc/annotations",
    "sahi_coco/coco_utils/visdrone2019-det-train-first50image.json",
    "picsellia_coco_det/annotations.json",
    "labelstudio_yolo/test_import_yolo_data",
    "sahi_coco/coco_evaluate/dataset.json",
]


# -- data ----------------------------------------------------------------------------------------

def synthetic_counts(n_images: int, seed: int, n_common: int = 70) -> sp.csr_matrix:
    """Images x classes object counts (see the module docstring)."""
    rng = np.random.default_rng(seed)
    freq = 1.0 / np.arange(1, n_common + 1) ** 1.6
    freq /= freq.sum()
    mean_inst = rng.uniform(1.2, 4.0, n_common)
    mean_inst[0] = 6.0  # crowd-like head class
    empty = rng.random(n_images) < 0.02
    n_cls = np.minimum(1 + rng.poisson(1.6, n_images), n_common)
    rows, cols = [], []
    # distinct classes per image: Gumbel top-k over log-frequencies, vectorised
    for k in np.unique(n_cls):
        idx = np.flatnonzero((n_cls == k) & ~empty)
        if idx.size == 0:
            continue
        keys = np.log(freq)[None, :] + rng.gumbel(size=(idx.size, n_common))
        top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
        rows.append(np.repeat(idx, k))
        cols.append(top.ravel())
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    v = rng.geometric(1.0 / mean_inst[c])
    labelled = np.flatnonzero(~empty)
    extra_r, extra_c, extra_v = [], [], []
    for j, lam in enumerate(RARE_IMAGES):
        m = min(int(rng.poisson(lam)), labelled.size)
        extra_r.append(rng.choice(labelled, size=m, replace=False))
        extra_c.append(np.full(m, n_common + j))
        extra_v.append(rng.geometric(1 / 1.5, size=m))
    r = np.concatenate([r, *extra_r])
    c = np.concatenate([c, *extra_c])
    v = np.concatenate([v, *extra_v])
    x = sp.csr_matrix((v, (r, c)), shape=(n_images, n_common + len(RARE_IMAGES)), dtype=np.int64)
    x.sum_duplicates()
    return x


def dataset_from_counts(x: sp.csr_matrix) -> pf.Dataset:
    names = [f"class_{c:02d}" for c in range(x.shape[1])]
    labels = [pf.Label(n) for n in names]
    proto = [pf.Annotation(n, box=(0.0, 0.0, 10.0, 10.0)) for n in names]
    assets = []
    indptr, indices, data = x.indptr, x.indices.tolist(), x.data.tolist()
    for i in range(x.shape[0]):
        anns = []
        for c, n in zip(indices[indptr[i]:indptr[i + 1]], data[indptr[i]:indptr[i + 1]]):
            anns.extend([proto[c]] * n)  # shared objects: the split only reads labels
        assets.append(pf.Asset(f"img_{i:07d}.jpg", 640, 480, anns))
    return pf.Dataset(labels=labels, assets=assets)


# -- metrics -------------------------------------------------------------------------------------

def metrics(x: sp.csr_matrix, train: np.ndarray) -> dict[str, float]:
    """Errors of a train mask (True = train) over all images of x."""
    totals = np.asarray(x.sum(axis=0)).ravel()
    in_train = np.asarray(x[train].sum(axis=0)).ravel()
    present = (x > 0).astype(np.int64)
    img_train = np.asarray(present[train].sum(axis=0)).ravel()
    img_all = np.asarray(present.sum(axis=0)).ravel()
    scored = totals >= 2
    err = np.abs(in_train / np.maximum(totals, 1) - P)
    missing = int(((img_all >= 2) & ((img_train == 0) | (img_train == img_all))).sum())
    return {
        "img": abs(train.mean() - P) if train.size else 0.0,
        "mean": float(err[scored].mean()),
        "max20": float(err[totals >= 20].max()) if (totals >= 20).any() else float("nan"),
        "missing": missing,
    }


def floors(x: sp.csr_matrix) -> dict[str, float]:
    labelled = np.flatnonzero(np.diff(x.indptr) > 0)
    plain, present = Problem.build(x[labelled], [P, 1 - P]).floors()
    totals = np.asarray(x.sum(axis=0)).ravel()
    scored, big = totals >= 2, totals >= 20
    return {"mean": float(plain[scored].mean()), "mean_presence": float(present[scored].mean()),
            "max20": float(plain[big].max()) if big.any() else float("nan")}


# -- methods -------------------------------------------------------------------------------------

def timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def ours(ds: pf.Dataset, seed: int, **kwargs: object) -> Callable[[], np.ndarray]:
    def run() -> np.ndarray:
        r = pf.split(ds, {"train": P, "test": 1 - P}, seed=seed, **kwargs)  # type: ignore[arg-type]
        return r.index == 0
    return run


def random_split(n: int, seed: int) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(n)
    train = np.zeros(n, dtype=bool)
    train[order[: round(P * n)]] = True
    return train


def iterstrat(x: sp.csr_matrix, seed: int) -> Callable[[], np.ndarray] | None:
    try:
        from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit
    except ImportError:
        return None

    def run() -> np.ndarray:
        y = (x > 0).astype(np.uint8).toarray()
        if y.shape[1] < 2:  # one class: scikit-learn calls it "binary", iterstrat wants multilabel
            y = np.hstack([y, np.zeros((y.shape[0], 2 - y.shape[1]), dtype=np.uint8)])
        splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=1 - P, random_state=seed)
        train_idx, _ = next(splitter.split(np.zeros((x.shape[0], 1)), y))
        train = np.zeros(x.shape[0], dtype=bool)
        train[train_idx] = True
        return train
    return run


DATUMARO_SCRIPT = r"""
import sys, time, numpy as np
from datumaro.components.dataset import Dataset
from datumaro.components.dataset_base import DatasetItem
from datumaro.components.annotation import Bbox
z = np.load(sys.argv[1])
indptr, indices, data, n_cls = z["indptr"], z["indices"], z["data"], int(z["n_classes"])
seeds = [int(s) for s in sys.argv[2].split(",")]
p = float(sys.argv[3])
items = []
for i in range(len(indptr) - 1):
    lo, hi = indptr[i], indptr[i + 1]
    anns = [Bbox(0, 0, 10, 10, label=int(c)) for c, n in zip(indices[lo:hi], data[lo:hi]) for _ in range(int(n))]
    items.append(DatasetItem(id=str(i), annotations=anns))
ds = Dataset.from_iterable(items, categories=[f"c{c}" for c in range(n_cls)])
for seed in seeds:
    t0, c0 = time.perf_counter(), time.process_time()
    out = ds.transform("split", task="detection", splits=[("train", p), ("test", 1 - p)], seed=seed)
    subset = {it.id: it.subset for it in out}
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    mask = "".join("1" if subset[str(i)] == "train" else "0" for i in range(len(indptr) - 1))
    print(seed, wall, cpu, mask)
"""


def datumaro(x: sp.csr_matrix, seeds: list[int]) -> dict[int, tuple[np.ndarray, float, float]] | None:
    python = os.environ.get("DATUMARO_PYTHON")
    if not python:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.npz"
        np.savez(path, indptr=x.indptr, indices=x.indices, data=x.data, n_classes=x.shape[1])
        script = Path(tmp) / "dm.py"
        script.write_text(DATUMARO_SCRIPT)
        proc = subprocess.run([python, str(script), str(path), ",".join(map(str, seeds)), str(P)],
                              capture_output=True, text=True, timeout=3600)
    if proc.returncode:
        print(f"datumaro failed: {proc.stderr[-500:]}", file=sys.stderr)
        return None
    out = {}
    for line in proc.stdout.splitlines():
        seed, wall, cpu, mask = line.split()
        out[int(seed)] = (np.frombuffer(mask.encode(), dtype=np.uint8) == ord("1"), float(wall), float(cpu))
    return out


# -- driver --------------------------------------------------------------------------------------

def evaluate(name: str, x: sp.csr_matrix, ds: pf.Dataset, seeds: list[int], rows: list[list[str]],
             dm: dict[int, tuple[np.ndarray, float, float]] | None, small: bool) -> None:
    """Append one table row per method (means over `seeds`, missing summed)."""
    fl = floors(x)
    rows.append([name, "per-class floor (bound)", "", "", "", f"{fl['max20']:.4f}",
                 f"{fl['mean']:.4f} / {fl['mean_presence']:.4f}", ""])
    methods: list[tuple[str, Callable[[int], Callable[[], np.ndarray] | None]]] = [
        ("ours (auto)", lambda s: ours(ds, s)),
    ]
    if small:
        methods.append(("ours (fast only)", lambda s: ours(ds, s, method="fast")))
    methods.append(("ours, presence not required", lambda s: ours(ds, s, presence=False)))
    methods.append(("random (5 shuffles)", lambda s: (lambda: random_split(x.shape[0], s))))
    methods.append(("iterstrat", lambda s: iterstrat(x, s)))
    for label, make in methods:
        results = []
        for seed in seeds:
            if label.startswith("random"):
                per = [timed(lambda k=k, s=seed: random_split(x.shape[0], 1000 * s + k)) for k in range(5)]
                ms = [metrics(x, t) for t, _, _ in per]
                results.append(({k: float(np.mean([m[k] for m in ms])) for k in ms[0]},
                                float(np.mean([w for _, w, _ in per])), float(np.mean([c for _, _, c in per]))))
                continue
            fn = make(seed)
            if fn is None:
                break
            train, wall, cpu = timed(fn)
            results.append((metrics(x, train), wall, cpu))
        if results:
            rows.append(_row(name, label, results))
        else:
            rows.append([name, label, "not installed", "", "", "", "", ""])
    if dm is not None:
        rows.append(_row(name, "datumaro (detection)", [(metrics(x, dm[s][0]), dm[s][1], dm[s][2]) for s in seeds]))
    else:
        rows.append([name, "datumaro (detection)", "not run (set DATUMARO_PYTHON)", "", "", "", "", ""])


def _row(name: str, label: str, results: list[tuple[dict[str, float], float, float]]) -> list[str]:
    def mean(key: str) -> float:
        return float(np.nanmean([m[key] for m, _, _ in results]))

    wall = np.mean([w for _, w, _ in results])
    cpu = np.mean([c for _, _, c in results])
    missing = sum(m["missing"] for m, _, _ in results)
    return [name, label, f"{wall:.3g} ({cpu:.3g})", f"{mean('img'):.4f}", "", f"{mean('max20'):.4f}",
            f"{mean('mean'):.4f}", f"{missing:g}"]


def print_table(rows: list[list[str]]) -> None:
    head = ["set", "method", "time s (cpu)", "img err", "", "max err (>=20 obj)", "mean cls err", "missing"]
    keep = [i for i, h in enumerate(head) if h]
    head = [head[i] for i in keep]
    rows = [[r[i] for i in keep] for r in rows]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--no-fixtures", action="store_true")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows: list[list[str]] = []
    if not args.no_fixtures:
        for rel in FIXTURES:
            ds = pf.read(REPO / "fixtures" / rel)
            _, x = count_matrix(ds)
            name = f"{rel.split('/')[0]} ({len(ds)} img, {x.shape[1]} cls)"
            evaluate(name, x, ds, [0], rows, datumaro(x, [0]), small=True)
    for n in (int(s) for s in args.sizes.split(",") if s):
        xs = {s: synthetic_counts(n, s) for s in seeds}
        dms = {s: datumaro(xs[s], [s]) for s in seeds}
        per_seed: list[list[list[str]]] = []
        for s in seeds:
            sub: list[list[str]] = []
            evaluate(f"synthetic {n:,}", xs[s], dataset_from_counts(xs[s]), [s], sub,
                     dms[s], small=n <= 2000)
            per_seed.append(sub)
        rows.extend(_merge(per_seed))
        print(f"done {n:,}", file=sys.stderr)
    print_table(rows)


def _merge(per_seed: list[list[list[str]]]) -> list[list[str]]:
    """Average the numeric cells of the same row over seeds (missing: sum)."""
    out = []
    for cells in zip(*per_seed):
        row = list(cells[0])
        for i in range(2, len(row)):
            values = [c[i] for c in cells]
            try:
                if " / " in values[0]:
                    parts = [[float(p) for p in v.split(" / ")] for v in values]
                    row[i] = " / ".join(f"{np.mean(col):.4f}" for col in zip(*parts))
                elif " (" in values[0]:
                    walls = [float(v.split(" (")[0]) for v in values]
                    cpus = [float(v.split(" (")[1].rstrip(")")) for v in values]
                    row[i] = f"{np.mean(walls):.3g} ({np.mean(cpus):.3g})"
                elif values[0]:
                    nums = [float(v) for v in values]
                    row[i] = f"{np.sum(nums):g}" if i == 7 else f"{np.mean(nums):.4f}"
            except ValueError:
                pass
        out.append(row)
    return out


if __name__ == "__main__":
    main()
