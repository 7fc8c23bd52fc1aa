"""The exact split: the objective of `problem` as a mixed-integer program for HiGHS.

Images with identical class counts are one group ``g`` of size ``n_g`` (which removes the
symmetry that makes such models slow); the variables are

* ``y_gs`` integer in [0, n_g]: images of group g in split s, with ``Σ_s y_gs = n_g``,
* ``u_sc >= 0``: |objects of class c in split s − r_s·T_c| (two rows each),

with ``Σ_g y_gs`` equal to each split's image target, minimising ``Σ_sc w_c u_sc``, and
presence as hard rows: ``Σ_{g ∋ c} y_gs >= 1`` in every split for a class in enough images,
``<= 1`` for a class in fewer images than splits (its images go to different splits). When the
splits are too small for that, the penalised form is solved instead: binaries ``z_cs <=
Σ_{g ∋ c} y_gs`` (class c present in split s) and ``m_c >= need_c − Σ_s z_cs``, adding
``M Σ m_c`` to the objective. `scipy.optimize.milp` (HiGHS) solves it under a time limit;
the result carries its status, objective and dual bound.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> from picsellia_formats.stratify.problem import Problem
    >>> p = Problem.build(sp.csr_matrix(np.array([[3], [1], [1], [1], [2]])), [0.5, 0.5])
    >>> out = solve(p, time_limit=10)
    >>> out.status, round(out.objective, 6), p.objective(out.assign)
    ('optimal', 0.0, 0.0)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from .problem import Problem

_STATUS = {0: "optimal", 1: "time limit", 2: "infeasible", 3: "unbounded", 4: "error"}


@dataclass
class ExactResult:
    """What HiGHS returned: the assignment (None without a feasible solution), status, objective,
    dual bound, relative gap and time."""

    assign: np.ndarray | None
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"status": self.status, "objective": self.objective, "bound": self.bound,
                "gap": self.gap, "message": self.message}  # no timing: split.json is deterministic


def group_rows(counts: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """(distinct rows, size of each group, group index of each row), groups in first-seen order."""
    keys: dict[tuple, int] = {}
    group_of = np.empty(counts.shape[0], dtype=np.int64)
    first: list[int] = []
    indptr, indices, data = counts.indptr, counts.indices, counts.data
    for i in range(counts.shape[0]):
        lo, hi = indptr[i], indptr[i + 1]
        key = (indices[lo:hi].tobytes(), data[lo:hi].tobytes())
        g = keys.get(key)
        if g is None:
            g = keys[key] = len(first)
            first.append(i)
        group_of[i] = g
    sizes = np.bincount(group_of, minlength=len(first))
    return counts[np.asarray(first, dtype=np.int64)], sizes, group_of


def solve(problem: Problem, time_limit: float = 10.0, node_limit: int | None = None) -> ExactResult:
    """Solve the program; the assignment lists each row's split (groups dealt out in row order).

    Presence is first imposed as hard rows (``Σ_{g ∋ c} y_gs >= 1`` for classes in enough
    images for every split, ``<= 1`` for classes in fewer: their images go to different
    splits), which needs no binary variable; only if that is infeasible (splits too small) is
    the penalised form with binaries ``z_cs`` solved. HiGHS is deterministic unless it stops
    at `time_limit`.
    """
    t0 = time.perf_counter()
    n_rows = problem.counts.shape[0]
    if n_rows == 0:
        return ExactResult(np.zeros(0, dtype=np.int8), "optimal", 0.0, 0.0, 0.0, 0.0, "no image with objects")
    groups, sizes, group_of = group_rows(problem.counts)
    res, hard = _solve_model(problem, groups, sizes, time_limit, node_limit, hard=True), True
    if res.status == 2:
        left = max(time_limit - (time.perf_counter() - t0), 0.1)
        res, hard = _solve_model(problem, groups, sizes, left, node_limit, hard=False), False
    seconds = time.perf_counter() - t0
    status = _STATUS.get(res.status, str(res.status))
    if res.status == 1 and "node" in str(res.message).lower():
        status = "node limit"
    bound = _num(getattr(res, "mip_dual_bound", None))
    gap = _num(getattr(res, "mip_gap", None))
    message = str(res.message) + ("" if hard else " [presence as a penalty: the splits are too small for it]")
    if res.x is None:
        return ExactResult(None, status, None, bound, gap, seconds, message)
    k = problem.n_splits
    n_groups = groups.shape[0]
    counts = np.rint(res.x[: n_groups * k]).astype(np.int64).reshape(n_groups, k)
    assign = np.empty(n_rows, dtype=np.int8)
    for g_rows, per_split in zip(_rows_by_group(group_of, n_groups), counts):
        assign[g_rows] = np.repeat(np.arange(k, dtype=np.int8), per_split)
    return ExactResult(assign, status, float(res.fun), bound, gap, seconds, message)


def _solve_model(problem: Problem, groups: sp.csr_matrix, sizes: np.ndarray, time_limit: float,
                 node_limit: int | None, hard: bool) -> Any:
    k = problem.n_splits
    n_groups = groups.shape[0]
    scored = np.flatnonzero(problem.weights > 0)
    presence = np.flatnonzero(problem.need > 0)
    n_soft = 0 if hard else presence.size
    n_y, n_u, n_z = n_groups * k, scored.size * k, n_soft * k
    n_var = n_y + n_u + n_z + n_soft
    y0, u0, z0, m0 = 0, n_y, n_y + n_u, n_y + n_u + n_z

    def y(s: int) -> np.ndarray:  # columns of y_gs for all g
        return y0 + np.arange(n_groups) * k + s

    rows: list[sp.coo_matrix] = []
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []

    def add(block: sp.spmatrix, lo: np.ndarray, hi: np.ndarray) -> None:
        rows.append(sp.coo_matrix(block))
        lower.append(np.asarray(lo, dtype=float))
        upper.append(np.asarray(hi, dtype=float))

    # each group fully dealt out
    r = np.repeat(np.arange(n_groups), k)
    add(sp.coo_matrix((np.ones(n_y), (r, np.arange(n_y))), shape=(n_groups, n_var)), sizes, sizes)
    # image targets
    cols = np.concatenate([y(s) for s in range(k)])
    add(sp.coo_matrix((np.ones(n_y), (np.repeat(np.arange(k), n_groups), cols)), shape=(k, n_var)),
        problem.image_targets, problem.image_targets)
    gc = groups.tocsc()
    if scored.size:
        sub = gc[:, scored].T.tocoo()  # class x group counts
        for s in range(k):
            target = problem.ratios[s] * problem.totals[scored]
            obj = sp.coo_matrix((sub.data.astype(float), (sub.row, y(s)[sub.col])), shape=(scored.size, n_var))
            u = sp.coo_matrix((np.ones(scored.size), (np.arange(scored.size), u0 + np.arange(scored.size) * k + s)),
                              shape=(scored.size, n_var))
            add(obj - u, np.full(scored.size, -np.inf), target)
            add(obj + u, target, np.full(scored.size, np.inf))
    if presence.size:
        sub = (gc[:, presence] > 0).T.tocoo()
        reachable = int((problem.image_targets > 0).sum())
        everywhere = problem.need[presence] >= reachable
        for s in range(k):
            has = sp.coo_matrix((np.ones(sub.nnz), (sub.row, y(s)[sub.col])), shape=(presence.size, n_var))
            if hard:
                if problem.image_targets[s] == 0:
                    continue
                add(has, np.where(everywhere, 1.0, -np.inf), np.where(everywhere, np.inf, 1.0))
            else:
                zc = z0 + np.arange(presence.size) * k
                z = sp.coo_matrix((np.ones(presence.size), (np.arange(presence.size), zc + s)),
                                  shape=(presence.size, n_var))
                add(z - has, np.full(presence.size, -np.inf), np.zeros(presence.size))
        if not hard:
            zc = z0 + np.arange(presence.size) * k
            rr = np.concatenate([np.repeat(np.arange(presence.size), k), np.arange(presence.size)])
            cc = np.concatenate([(zc[:, None] + np.arange(k)[None, :]).ravel(), m0 + np.arange(presence.size)])
            add(sp.coo_matrix((np.ones(rr.size), (rr, cc)), shape=(presence.size, n_var)),
                problem.need[presence], np.full(presence.size, np.inf))

    cost = np.zeros(n_var)
    cost[u0:z0] = np.repeat(problem.weights[scored], k)
    cost[m0:] = problem.penalty
    lb = np.zeros(n_var)
    ub = np.full(n_var, np.inf)
    ub[:n_y] = np.repeat(sizes, k)
    ub[z0:m0] = 1
    integrality = np.zeros(n_var)
    integrality[:n_y] = 1
    integrality[z0:m0] = 1
    constraint = LinearConstraint(sp.vstack(rows).tocsr(), np.concatenate(lower), np.concatenate(upper))
    options: dict[str, object] = {"time_limit": float(time_limit), "disp": bool(os.environ.get("PF_MILP_LOG"))}
    if node_limit is not None:
        options["node_limit"] = int(node_limit)
    return milp(cost, integrality=integrality, bounds=Bounds(lb, ub), constraints=constraint, options=options)


def _rows_by_group(group_of: np.ndarray, n_groups: int) -> list[np.ndarray]:
    order = np.argsort(group_of, kind="stable")
    return np.split(order, np.cumsum(np.bincount(group_of, minlength=n_groups))[:-1])


def _num(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None
