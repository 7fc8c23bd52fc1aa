"""The split problem as numbers: per-image class counts, targets, objective and per-class floors.

Both solvers (`greedy`, `exact`) optimise the objective defined here::

    F = Σ_c w_c Σ_s |S_sc − r_s·T_c|  +  M · Σ_c missing_c

over the images that hold objects, with the number of such images per split fixed to its
rounded target (images without objects are spread by ratio apart from them). ``S_sc`` is the
number of objects of class c in split s, ``T_c`` its total, ``w_c = 1/T_c`` for classes with
at least two objects (0 otherwise), ``missing_c`` how many splits lack class c although it sits
in enough images to be in all of them, and ``M`` a penalty large enough to make presence win.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> p = Problem.build(sp.csr_matrix(np.array([[2, 0], [1, 1], [1, 0]])), [0.5, 0.5])
    >>> p.totals.tolist(), p.image_targets.tolist(), p.need.tolist()
    ([4, 1], [2, 1], [2, 0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from ..model import Dataset

#: Penalty per missing (class, split) presence: larger than any object-count gain one image can bring.
PRESENCE_PENALTY = 10.0


def round_to_total(ratios: Sequence[float], total: int) -> np.ndarray:
    """Integers summing to `total`, each within one of ``ratio·total`` (largest remainder, ties by order).

    Example:
        >>> round_to_total([0.8, 0.1, 0.1], 15).tolist()
        [12, 2, 1]
    """
    exact = np.asarray(ratios, dtype=float) * total
    out = np.floor(exact + 1e-9).astype(np.int64)
    short = int(total - out.sum())
    if short > 0:
        order = sorted(range(len(out)), key=lambda s: (-(exact[s] - out[s]), s))
        for s in order[:short]:
            out[s] += 1
    return out


def count_matrix(dataset: Dataset) -> tuple[list[str], sp.csr_matrix]:
    """(class names, assets × classes object counts). Classes are the declared labels in order,
    then labels used but not declared, in first-use order. Every annotation counts as an object
    (image-level classifications included).

    Example:
        >>> from picsellia_formats import Annotation, Asset, Dataset
        >>> names, m = count_matrix(Dataset(assets=[Asset("a", annotations=[Annotation("x")] * 2)]))
        >>> names, m.toarray().tolist()
        (['x'], [[2]])
    """
    index = {name: i for i, name in enumerate(dataset.label_names)}
    names = list(index)
    cols: list[int] = []
    indptr = [0]
    for asset in dataset.assets:
        for ann in asset.annotations:
            c = index.get(ann.label)
            if c is None:
                c = index[ann.label] = len(names)
                names.append(ann.label)
            cols.append(c)
        indptr.append(len(cols))
    matrix = sp.csr_matrix(
        (np.ones(len(cols), dtype=np.int64), np.asarray(cols, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(dataset.assets), len(names)),
    )
    matrix.sum_duplicates()
    return names, matrix


def image_targets(shares: np.ndarray, n_assets: int, n_labelled: int) -> tuple[np.ndarray, np.ndarray]:
    """Images with and without objects per split, each within one image of ratio × their number,
    and their sums within one image of ratio × all images (a controlled rounding of the 2 × K
    table; the fallback keeps the totals and the images with objects within one image)."""
    total = round_to_total(shares, n_assets)
    n_empty = n_assets - n_labelled
    lab, emp = shares * n_labelled, shares * n_empty
    lab_lo, lab_hi = np.floor(lab + 1e-9), np.ceil(lab - 1e-9)
    emp_lo, emp_hi = np.floor(emp + 1e-9), np.ceil(emp - 1e-9)
    options = [[int(v) for v in sorted({lab_lo[s], lab_hi[s]}) if emp_lo[s] <= total[s] - v <= emp_hi[s]]
               for s in range(len(shares))]
    if all(options):
        labelled = np.array([o[0] for o in options], dtype=np.int64)
        short = n_labelled - int(labelled.sum())
        can_raise = sorted((s for s, o in enumerate(options) if len(o) == 2), key=lambda s: (-(lab[s] % 1), s))
        if 0 <= short <= len(can_raise):
            for s in can_raise[:short]:
                labelled[s] += 1
            return labelled, total - labelled
    labelled = round_to_total(shares, n_labelled)
    empty = total - labelled
    while (empty < 0).any():  # a split short of empty images gives a labelled slot to another
        s = int(np.argmin(empty))
        t = int(np.argmax(np.where(empty > 0, empty - emp, -np.inf)))
        empty[s] += 1
        labelled[s] -= 1
        empty[t] -= 1
        labelled[t] += 1
    return labelled, empty


@dataclass
class Problem:
    """The object-count matrix of the images that hold objects, and what the split aims at."""

    counts: sp.csr_matrix  # images (with objects) x classes, int64
    ratios: np.ndarray  # (K,)
    image_targets: np.ndarray  # (K,) images with objects per split
    totals: np.ndarray  # (C,) objects per class
    images_per_class: np.ndarray  # (C,)
    weights: np.ndarray  # (C,) 1/T_c for T_c >= 2, else 0
    need: np.ndarray  # (C,) splits each class must reach
    penalty: float = PRESENCE_PENALTY

    @classmethod
    def build(cls, counts: sp.csr_matrix, ratios: Sequence[float],
              image_targets: Sequence[int] | None = None) -> Problem:
        counts = sp.csr_matrix(counts, dtype=np.int64)
        counts.sum_duplicates()
        counts.eliminate_zeros()
        ratios_arr = np.asarray(ratios, dtype=float)
        n = counts.shape[0]
        targets = (np.asarray(image_targets, dtype=np.int64) if image_targets is not None
                   else round_to_total(ratios_arr, n))
        totals = np.asarray(counts.sum(axis=0)).ravel().astype(np.int64)
        per_class = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64)
        weights = np.where(totals >= 2, 1.0 / np.maximum(totals, 1), 0.0)
        reachable = int((targets > 0).sum())
        need = np.minimum(per_class, reachable)
        need[per_class < 2] = 0
        return cls(counts, ratios_arr, targets, totals, per_class, weights, need.astype(np.int64))

    @property
    def n_splits(self) -> int:
        return len(self.ratios)

    def split_counts(self, assign: np.ndarray) -> np.ndarray:
        """Objects per (split, class) for an assignment of the rows to splits."""
        out = np.zeros((self.n_splits, self.counts.shape[1]), dtype=np.int64)
        for s in range(self.n_splits):
            rows = np.flatnonzero(assign == s)
            if rows.size:
                out[s] = np.asarray(self.counts[rows].sum(axis=0)).ravel()
        return out

    def presence(self, assign: np.ndarray) -> np.ndarray:
        """Images per (split, class) holding the class."""
        out = np.zeros((self.n_splits, self.counts.shape[1]), dtype=np.int64)
        row_of = np.repeat(np.arange(self.counts.shape[0]), np.diff(self.counts.indptr))
        np.add.at(out, (assign[row_of], self.counts.indices), 1)
        return out

    def missing(self, assign: np.ndarray) -> np.ndarray:
        """Per class, how many splits lack it although it could be in them (see `need`)."""
        have = (self.presence(assign) > 0).sum(axis=0)
        return np.maximum(0, self.need - have)

    def objective(self, assign: np.ndarray) -> float:
        """F for a complete assignment (see the module docstring)."""
        dev = self.split_counts(assign) - self.ratios[:, None] * self.totals[None, :]
        return float((np.abs(dev) * self.weights[None, :]).sum() + self.penalty * self.missing(assign).sum())

    def floors(self) -> tuple[np.ndarray, np.ndarray]:
        """Per class, the smallest achievable |objects_sc − r_s·T_c| summed over splits, as a
        proportion error (half the sum, over T_c): without and with the presence requirement.

        Each is a lower bound for that class's error under any split: it looks at the class
        alone (the subset sums of its per-image counts) and ignores the image counts and the
        other classes. Classes with fewer than 2 objects get 0.
        """
        csc = self.counts.tocsc()
        n_classes = csc.shape[1]
        plain = np.zeros(n_classes)
        present = np.zeros(n_classes)
        reachable = int((self.image_targets > 0).sum())
        for c in range(n_classes):
            total = int(self.totals[c])
            if total < 2:
                continue
            values = csc.data[csc.indptr[c]:csc.indptr[c + 1]]
            sums = _subset_sums(values, total)
            must = bool(self.need[c] >= reachable)
            err_plain = err_present = 0.0
            for s in range(self.n_splits):
                target = self.ratios[s] * total
                err_plain += _nearest_gap(sums, target, 0, total)
                if self.image_targets[s] == 0:
                    err_present += target
                elif must:
                    err_present += _nearest_gap(sums, target, 1, total - (reachable - 1))
                else:
                    err_present += _nearest_gap(sums, target, 0, total)
            plain[c] = err_plain / (2 * total)
            present[c] = err_present / (2 * total)
        return plain, present


def _subset_sums(values: np.ndarray, total: int) -> np.ndarray:
    """Boolean array over 0..total: which sums some subset of `values` reaches (bitset DP)."""
    bits = 1
    uniq, mult = np.unique(values, return_counts=True)
    for v, m in zip(uniq.tolist(), mult.tolist()):
        piece = 1
        while m > 0:  # binary splitting: pieces 1, 2, 4, ... cover every multiplicity 0..m
            take = min(piece, m)
            bits |= bits << (v * take)
            m -= take
            piece *= 2
    raw = np.frombuffer(bits.to_bytes((total + 8) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[: total + 1].astype(bool)


def _nearest_gap(sums: np.ndarray, target: float, lo: int, hi: int) -> float:
    """Smallest |g − target| over reachable sums g in [lo, hi] (inf when none)."""
    if hi < lo:
        return float("inf")
    window = np.flatnonzero(sums[lo:hi + 1]) + lo
    if window.size == 0:
        return float("inf")
    k = int(np.searchsorted(window, target))
    best = float("inf")
    for j in (k - 1, k):
        if 0 <= j < window.size:
            best = min(best, abs(float(window[j]) - target))
    return best
