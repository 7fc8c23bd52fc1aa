"""The fast split: rarest-first greedy on object counts, then a swap local search.

1. Images are taken by decreasing rarity (the largest share ``x_ic / T_c`` of any class they
   hold; ties in a seeded random order) and each goes, among the splits that still have room,
   to the one where it raises the objective of `problem` least, counting the presence
   penalty as soon as a class can no longer reach a split. Pure Python: an image touches a
   handful of classes, where numpy's per-call cost would dominate.
2. Swaps (image i in split a <-> image j in split b) keep every split's image count. Each
   round scores moving every image to the other split of the pair (vectorised over the sparse
   matrix), keeps the most promising candidates on each side — overall, and sharing the class
   that is furthest from its target — and evaluates every candidate pair exactly; the best
   improving swap is applied, until none improves or the time budget runs out.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> from picsellia_formats.stratify.problem import Problem
    >>> p = Problem.build(sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]])), [0.5, 0.5])
    >>> assign = solve(p, seed=0)
    >>> p.objective(assign)
    0.0
"""

from __future__ import annotations

import time

import numpy as np

from .problem import Problem

#: Candidates kept per side and per kind in each local-search round.
CANDIDATES = 24
#: Swaps made at most by one local search (converged runs need a few hundred at 100k images).
MAX_SWAPS = 20_000
#: Up to this many (image in a, image in b) pairs, every swap is evaluated each round.
FULL_PAIRS = 2_000_000


def solve(problem: Problem, seed: int = 0, time_budget: float = 120.0) -> np.ndarray:
    """Split index per row of ``problem.counts`` (int8), image counts equal to the targets.

    The search stops when no candidate swap improves, or after `MAX_SWAPS` swaps (both
    deterministic); `time_budget` is only a safety net (seconds).
    """
    rng = np.random.default_rng(seed)
    assign = greedy(problem, rng)
    deadline = time.perf_counter() + time_budget
    LocalSearch(problem, assign).run(deadline)
    return assign


def greedy(problem: Problem, rng: np.random.Generator) -> np.ndarray:
    """Rarest-first greedy assignment respecting the image targets exactly."""
    x = problem.counts
    n_rows, n_classes = x.shape
    k = problem.n_splits
    assign = np.zeros(n_rows, dtype=np.int8)
    if n_rows == 0:
        return assign
    totals = np.maximum(problem.totals, 1).astype(float)
    share = x.data / totals[x.indices]
    rarity = np.maximum.reduceat(share, x.indptr[:-1]) if x.nnz else np.zeros(n_rows)
    tiebreak = rng.permutation(n_rows)
    order = np.lexsort((tiebreak, -rarity)).tolist()

    indptr = x.indptr.tolist()
    indices = x.indices.tolist()
    data = x.data.tolist()
    weights = problem.weights.tolist()
    dev = [(-problem.ratios[s] * problem.totals.astype(float)).tolist() for s in range(k)]
    present = [[0] * n_classes for _ in range(k)]
    have = [0] * n_classes
    left = problem.images_per_class.tolist()
    need = problem.need.tolist()
    room = problem.image_targets.astype(np.int64).tolist()
    size = [max(r, 1) for r in room]
    penalty = problem.penalty
    splits = range(k)
    out = [0] * n_rows

    for i in order:
        lo, hi = indptr[i], indptr[i + 1]
        cols = indices[lo:hi]
        vals = data[lo:hi]
        best_s = -1
        best_key: tuple[float, float] = (0.0, 0.0)
        for s in splits:
            if room[s] <= 0:
                continue
            ds = dev[s]
            ps = present[s]
            cost = 0.0
            lost = 0
            for c, v in zip(cols, vals):
                e = ds[c]
                cost += weights[c] * (abs(e + v) - abs(e))
                nd = need[c]
                if nd:
                    before = nd - have[c] - left[c]
                    after = before + 1 - (ps[c] == 0)
                    lost += (after if after > 0 else 0) - (before if before > 0 else 0)
            key = (cost + penalty * lost, -room[s] / size[s])
            if best_s < 0 or key < best_key:
                best_s, best_key = s, key
        s = best_s
        out[i] = s
        room[s] -= 1
        ds = dev[s]
        ps = present[s]
        for c, v in zip(cols, vals):
            ds[c] += v
            if ps[c] == 0:
                have[c] += 1
            ps[c] += 1
            left[c] -= 1
    assign[:] = out
    return assign


class LocalSearch:
    """Best-improvement swaps between pairs of splits (state kept incrementally).

    A move's cost is a sum over the image's (class, count) entries of a term that depends only
    on the class, the count and the two splits, so each round computes that term once per
    distinct (class, count) pair and gathers it over the sparse entries.
    """

    def __init__(self, problem: Problem, assign: np.ndarray) -> None:
        self.p = problem
        self.assign = assign
        x = problem.counts
        self.row_of = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        self.src = assign[self.row_of].astype(np.int64)  # split of each entry's image
        pairs = x.indices.astype(np.int64) * (int(x.data.max(initial=0)) + 1) + x.data
        uniq, self.pair_id = np.unique(pairs, return_inverse=True)
        first = np.zeros(uniq.size, dtype=np.int64)
        first[self.pair_id[::-1]] = np.arange(x.nnz)[::-1]
        self.pair_cls = x.indices[first].astype(np.int64)
        self.pair_val = x.data[first].astype(float)
        order = np.argsort(x.indices, kind="stable")  # entries grouped by class
        self.by_class = np.split(order, np.cumsum(np.bincount(x.indices, minlength=x.shape[1]))[:-1])
        self.dev = problem.split_counts(assign) - problem.ratios[:, None] * problem.totals[None, :]
        self.present = problem.presence(assign)
        self.have = (self.present > 0).sum(axis=0)
        self.swaps = 0

    def run(self, deadline: float) -> int:
        """Swap until no pair of splits has an improving swap (or the deadline); returns swaps made."""
        k = self.p.n_splits
        if self.p.counts.nnz == 0 or k < 2:
            return 0
        pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
        stale = 0
        while stale < len(pairs) and time.perf_counter() < deadline and self.swaps < MAX_SWAPS:
            stale = 0
            for a, b in pairs:
                if time.perf_counter() >= deadline:
                    break
                if not self._improve(a, b):
                    stale += 1
        return self.swaps

    def _move_terms(self, a: int, b: int) -> np.ndarray:
        """(K, distinct pairs): change of the objective when one image entry (class, count) leaves
        split a for b (row a) or b for a (row b); other rows are 0."""
        p = self.p
        c = self.pair_cls
        v = self.pair_val
        w = p.weights[c]
        table = np.zeros((p.n_splits, c.size))
        need = p.need[c]
        have = self.have[c]
        for src, dst in ((a, b), (b, a)):
            e_src = self.dev[src, c]
            e_dst = self.dev[dst, c]
            term = w * (np.abs(e_src - v) - np.abs(e_src) + np.abs(e_dst + v) - np.abs(e_dst))
            new_have = have - (self.present[src, c] == 1) + (self.present[dst, c] == 0)
            term += p.penalty * (np.maximum(0, need - new_have) - np.maximum(0, need - have))
            table[src] = term
        return table

    def _improve(self, a: int, b: int) -> bool:
        p = self.p
        x = p.counts
        table = self._move_terms(a, b)
        term = table[self.src, self.pair_id]
        cost = np.add.reduceat(term, x.indptr[:-1])
        side_a = np.flatnonzero(self.assign == a)
        side_b = np.flatnonzero(self.assign == b)
        if side_a.size == 0 or side_b.size == 0:
            return False
        if side_a.size * side_b.size <= FULL_PAIRS:
            return self._improve_full(a, b, side_a, side_b, cost, term)
        cand_a = [_lowest(side_a, cost[side_a], CANDIDATES)]
        cand_b = [_lowest(side_b, cost[side_b], CANDIDATES)]
        # Pairs that share the class furthest from its target: its term cancels in the swap.
        worst = int(np.argmax(p.weights * np.abs(self.dev[a])))
        entries = self.by_class[worst]
        if entries.size:
            rows = self.row_of[entries]
            without = cost[rows] - term[entries]
            where = self.assign[rows]
            for side, cand in ((a, cand_a), (b, cand_b)):
                mine = where == side
                if mine.any():
                    cand.append(_lowest(rows[mine], without[mine], CANDIDATES))
        ia = np.unique(np.concatenate(cand_a))
        jb = np.unique(np.concatenate(cand_b))
        delta = self._swap_deltas(a, b, ia, jb)
        flat = int(np.argmin(delta))
        if delta.flat[flat] >= -1e-12:
            return False
        i = int(ia[flat // delta.shape[1]])
        j = int(jb[flat % delta.shape[1]])
        self._apply(i, a, b)
        self._apply(j, b, a)
        self.swaps += 1
        return True

    def _improve_full(self, a: int, b: int, side_a: np.ndarray, side_b: np.ndarray,
                      cost: np.ndarray, term: np.ndarray) -> bool:
        """Every swap between a and b, exactly: the two moves' costs plus, for each class both
        images hold, the difference between the joint change and the two separate ones."""
        p = self.p
        delta = cost[side_a][:, None] + cost[side_b][None, :]
        local = np.empty(p.counts.shape[0], dtype=np.int64)
        local[side_a] = np.arange(side_a.size)
        local[side_b] = np.arange(side_b.size)
        for c, entries in enumerate(self.by_class):
            if entries.size < 2 or (p.weights[c] == 0 and p.need[c] == 0):
                continue
            where = self.src[entries]
            ea, eb = entries[where == a], entries[where == b]
            if ea.size == 0 or eb.size == 0:
                continue
            xa = p.counts.data[ea].astype(float)[:, None]
            xb = p.counts.data[eb].astype(float)[None, :]
            da, db = self.dev[a, c], self.dev[b, c]
            joint = p.weights[c] * (abs(da - xa + xb) - abs(da) + abs(db + xa - xb) - abs(db))
            corr = joint - term[ea][:, None] - term[eb][None, :]
            delta[np.ix_(local[self.row_of[ea]], local[self.row_of[eb]])] += corr
        flat = int(np.argmin(delta))
        if delta.flat[flat] >= -1e-12:
            return False
        i = int(side_a[flat // delta.shape[1]])
        j = int(side_b[flat % delta.shape[1]])
        self._apply(i, a, b)
        self._apply(j, b, a)
        self.swaps += 1
        return True

    def _swap_deltas(self, a: int, b: int, ia: np.ndarray, jb: np.ndarray) -> np.ndarray:
        """Exact objective change of swapping every (ia[r], jb[q]) pair."""
        p = self.p
        xi = p.counts[ia]
        xj = p.counts[jb]
        cols = np.union1d(xi.indices, xj.indices)
        di = xi[:, cols].toarray().astype(float)
        dj = xj[:, cols].toarray().astype(float)
        shift = dj[None, :, :] - di[:, None, :]  # change of split a's counts
        ea = self.dev[a, cols]
        eb = self.dev[b, cols]
        w = p.weights[cols]
        delta = ((np.abs(ea + shift) - np.abs(ea) + np.abs(eb - shift) - np.abs(eb)) * w).sum(axis=2)
        need = p.need[cols]
        if need.any():
            bi = (di > 0).astype(np.int64)
            bj = (dj > 0).astype(np.int64)
            pres_a = self.present[a, cols] - bi[:, None, :] + bj[None, :, :]
            pres_b = self.present[b, cols] + bi[:, None, :] - bj[None, :, :]
            have = self.have[cols]
            new_have = (have - (self.present[a, cols] > 0) - (self.present[b, cols] > 0)
                        + (pres_a > 0) + (pres_b > 0))
            miss = np.maximum(0, need - new_have) - np.maximum(0, need - have)
            delta = delta + p.penalty * miss.sum(axis=2)
        return delta

    def _apply(self, row: int, src: int, dst: int) -> None:
        x = self.p.counts
        lo, hi = x.indptr[row], x.indptr[row + 1]
        cols = x.indices[lo:hi]
        vals = x.data[lo:hi]
        self.dev[src, cols] -= vals
        self.dev[dst, cols] += vals
        before = self.present[:, cols] > 0
        self.present[src, cols] -= 1
        self.present[dst, cols] += 1
        after = self.present[:, cols] > 0
        self.have[cols] += after.sum(axis=0) - before.sum(axis=0)
        self.assign[row] = dst
        self.src[lo:hi] = dst


def _lowest(rows: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    if rows.size <= k:
        return rows
    part = np.argpartition(values, k)[:k]
    return rows[part]
