"""Stratified train/val/test splits by object counts.

`split` deals the images of a `Dataset` into any number of splits so that

* every class's number of *objects* in each split is as close as possible to ratio × its total
  (errors normalised per class, so a rare class counts as much as the head class),
* each split holds its share of the images to within one image,
* every class found in at least as many images as there are splits is present in every split,
* images without objects are spread by the same ratios,

deterministically for a given seed (the exact solver is, unless it stops at its time limit).
Two solvers share that objective (`problem`): a
fast one for any size (`greedy`: rarest-first greedy, then swaps) and an exact one for
small sets (`exact`: a mixed-integer program solved by HiGHS under a time limit).
``method="auto"`` runs the fast one and, up to `AUTO_EXACT_MAX` images, the exact one too,
and keeps the better. The result reports, per split and class, objects, images and deviation,
and each class's *floor*: the smallest error that class can reach at all given how its
objects sit in images.

Example:
    >>> import picsellia_formats as pf
    >>> ds = pf.read("fixtures/picsellia_coco_det/annotations.json")
    >>> result = pf.split(ds, {"train": 0.8, "val": 0.2}, seed=0)
    >>> result.images
    {'train': 15, 'val': 4}
    >>> parts = result.datasets()
    >>> len(parts["train"]) + len(parts["val"])
    19
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import OptionError

if TYPE_CHECKING:
    from ..model import Dataset
    from .result import SplitResult

#: ``method="auto"`` also runs the exact solver up to this many images holding objects, for at
#: most `AUTO_NODE_LIMIT` branch-and-bound nodes (a deterministic limit) and `time_limit` seconds.
AUTO_EXACT_MAX = 2000
AUTO_NODE_LIMIT = 1000
METHODS = ("auto", "fast", "exact")
_DEFAULT_NAMES = {2: ("train", "val"), 3: ("train", "val", "test")}


def split(
    dataset: Dataset,
    ratios: Mapping[str, float] | Sequence[float] | Sequence[tuple[str, float]] = (("train", 0.8), ("val", 0.2)),
    seed: int | None = None,
    method: str = "auto",
    time_limit: float = 10.0,
    presence: bool = True,
) -> SplitResult:
    """Split `dataset` by object counts; see the module docstring for the objective.

    `ratios` maps split names to shares summing to 1 (a plain sequence is named train, val,
    test). `seed` (None = 0) orders ties; the same seed gives the same split. `method` is
    ``"fast"``, ``"exact"`` (HiGHS, at most `time_limit` seconds; falls back to the fast split
    if it finds no solution in time) or ``"auto"`` (fast, plus the exact solver on up to
    `AUTO_EXACT_MAX` images with objects for at most `AUTO_NODE_LIMIT` nodes and `time_limit`
    seconds, unless the fast split already meets the lower bound; the better one is kept).
    A split that stops at the time limit may differ on a slower machine. ``presence=False`` drops the requirement
    that classes appear in every split (a little lower proportion errors on tiny classes).
    Raises ValueError on bad ratios or method.

    Example:
        >>> from picsellia_formats import Annotation, Asset, Dataset
        >>> ds = Dataset(assets=[Asset(f"{i}.jpg", annotations=[Annotation("cat")] * (i % 3))
        ...                      for i in range(10)])
        >>> r = split(ds, [0.5, 0.5], method="exact")
        >>> r.images, r.objects["train"], r.objects["val"]
        ({'train': 5, 'val': 5}, {'cat': 4}, {'cat': 5})
    """
    from .problem import count_matrix

    classes, counts = count_matrix(dataset)
    return split_table(classes, counts, ratios, seed=seed, method=method, time_limit=time_limit,
                       presence=presence, dataset=dataset)


def split_table(
    classes: list[str],
    counts: Any,
    ratios: Mapping[str, float] | Sequence[float] | Sequence[tuple[str, float]] = (("train", 0.8), ("val", 0.2)),
    seed: int | None = None,
    method: str = "auto",
    time_limit: float = 10.0,
    presence: bool = True,
    dataset: Any = None,
) -> SplitResult:
    """`split` of a per-asset label count table (`counts`: a scipy CSR matrix, assets × `classes`).

    What a streamed split computes in one pass without holding the assets; `dataset` (optional) is what
    the result names assets by (anything with ``assets`` whose items have ``file_name`` and ``id``).

    Example:
        >>> import numpy as np, scipy.sparse as sp
        >>> r = split_table(["cat"], sp.csr_matrix(np.array([[1], [2], [0], [1]])), [0.5, 0.5], method="fast")
        >>> r.images
        {'train': 2, 'val': 2}
    """
    import numpy as np  # numpy and scipy load on first use: `import picsellia_formats` stays light

    from . import greedy
    from .problem import Problem, image_targets
    from .result import SplitResult

    names, share_list = normalise_ratios(ratios)
    shares = np.asarray(share_list)
    if method not in METHODS:
        raise OptionError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise OptionError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    seed = 0 if seed is None else int(seed)
    t0 = time.perf_counter()
    n_assets = counts.shape[0]
    labelled = np.flatnonzero(np.diff(counts.indptr) > 0)
    empty = np.flatnonzero(np.diff(counts.indptr) == 0)
    labelled_targets, empty_targets = image_targets(shares, n_assets, labelled.size)
    problem = Problem.build(counts[labelled], shares, labelled_targets)
    if not presence:
        problem.need[:] = 0
    floor, floor_presence = problem.floors()
    lower_bound = float(2 * (floor_presence if presence else floor)[problem.totals >= 2].sum())

    fast = exact = None
    if method in ("fast", "auto"):
        fast = greedy.solve(problem, seed=seed)
    if method == "exact" or (method == "auto" and labelled.size <= AUTO_EXACT_MAX
                             and problem.objective(fast) > lower_bound + 1e-9):  # type: ignore[arg-type]
        from . import exact as exact_solver  # scipy.optimize (HiGHS) loads only when the MILP runs

        exact = exact_solver.solve(problem, time_limit=time_limit,
                                   node_limit=AUTO_NODE_LIMIT if method == "auto" else None)
        if exact.assign is None and fast is None:
            fast = greedy.solve(problem, seed=seed)
    chosen, used = fast, "fast"
    if exact is not None and exact.assign is not None and (
            fast is None or problem.objective(exact.assign) < problem.objective(fast) - 1e-9):
        chosen, used = exact.assign, "exact"
    assert chosen is not None

    index = np.zeros(n_assets, dtype=np.int8)
    index[labelled] = chosen
    rng = np.random.default_rng(seed)
    shuffled = empty[rng.permutation(empty.size)]
    index[shuffled] = np.repeat(np.arange(len(names), dtype=np.int8), empty_targets)
    return SplitResult(
        names=names, ratios=shares, index=index, classes=classes, counts=counts,
        floor=floor, floor_presence=floor_presence, method=used, seed=seed,
        objective=problem.objective(chosen), lower_bound=lower_bound,
        milp=exact.to_dict() if exact is not None else None,
        seconds=time.perf_counter() - t0, presence_required=presence, dataset=dataset,
    )


def normalise_ratios(ratios: Mapping[str, float] | Sequence[Any]) -> tuple[list[str], list[float]]:
    """(split names, shares) from what `split` accepts; ValueError naming what is wrong.

    Example:
        >>> normalise_ratios([0.5, 0.25, 0.25])
        (['train', 'val', 'test'], [0.5, 0.25, 0.25])
    """
    if isinstance(ratios, Mapping):
        items = list(ratios.items())
    else:
        seq = list(ratios)
        if seq and all(isinstance(r, (tuple, list)) and len(r) == 2 for r in seq):
            items = [(str(n), v) for n, v in seq]
        else:
            default = _DEFAULT_NAMES.get(len(seq), tuple(f"split{i}" for i in range(len(seq))))
            items = list(zip(default, seq))
    if len(items) < 1:
        raise OptionError("give at least one split ratio")
    names = [n for n, _ in items]
    for n in names:
        if not isinstance(n, str) or not n.strip() or any(ch in n for ch in "/\\\0") or n in (".", ".."):
            raise OptionError(f"split name {n!r} is not usable as a folder name")
    if len(set(names)) != len(names):
        raise OptionError(f"split names must differ, got {', '.join(names)}")
    try:
        values = [float(v) for _, v in items]
    except (TypeError, ValueError):
        raise OptionError(f"ratios must be numbers, got {[v for _, v in items]!r}") from None
    if any(not math.isfinite(v) or v <= 0 for v in values):
        raise OptionError(f"every ratio must be a number > 0, got {', '.join(f'{n} {v:g}' for n, v in items)}")
    total = sum(values)
    if abs(total - 1.0) > 1e-6:
        parts = " + ".join(f"{n} {v:g}" for n, v in zip(names, values))
        raise OptionError(f"ratios must sum to 1, got {total:g} ({parts})")
    return names, [v / total for v in values]
