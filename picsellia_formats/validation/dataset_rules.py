"""Dataset-level rules: the label list, empty images, rare classes and class imbalance.

Example:
    >>> from picsellia_formats.model import Label, Dataset
    >>> from picsellia_formats.validation.context import Context, Options
    >>> from picsellia_formats.validation.rules import select
    >>> ds = Dataset(labels=[Label("car"), Label("Car "), Label("bus")])
    >>> ctx = Context(ds, Options(), select(["label-near-duplicate", "label-whitespace"]))
    >>> check_labels(ctx, {"car": 3, "Car ": 1})
    >>> [(f.code, f.message) for f in ctx.report]  # doctest: +NORMALIZE_WHITESPACE
    [('label-whitespace', "label 'Car ' has surrounding spaces"),
     ('label-near-duplicate', "labels 'car', 'Car ' differ only by case or surrounding spaces")]
"""

from __future__ import annotations

from .context import Context


def _key(name: str) -> str:
    return name.strip().casefold()


def check_labels(ctx: Context, counts: dict[str, int]) -> None:
    """Unused, empty, space-padded and near-duplicate labels (declared ones and the ones objects use)."""
    ds = ctx.dataset
    names = list(ds.label_names)
    declared = set(names)
    names += [n for n in counts if n not in declared]
    seen: set[str] = set()
    groups: dict[str, list[str]] = {}
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        if not isinstance(name, str) or not name.strip():
            ctx.emit("label-empty", f"label {name!r} has no name", data={"label": name}, record="labels")
            continue
        if name != name.strip():
            ctx.emit("label-whitespace", f"label {name!r} has surrounding spaces", data={"label": name},
                     record="labels")
        groups.setdefault(_key(name), []).append(name)
        if name in declared and not counts.get(name):
            ctx.emit("label-unused", f"label {name!r} is declared but no object uses it", data={"label": name},
                     record="labels")
    for group in groups.values():
        if len(group) > 1:
            ctx.emit("label-near-duplicate", f"labels {', '.join(map(repr, group))} differ only by case or "
                                             "surrounding spaces", data={"labels": group}, record="labels")


def check_distribution(ctx: Context, counts: dict[str, int], empty_assets: list[int]) -> None:
    """Empty dataset, empty images, classes under ``min_objects`` and class imbalance."""
    ds = ctx.dataset
    opt = ctx.options
    if not ds.assets:
        ctx.emit("dataset-empty", "the dataset has no assets")
        return
    if ctx.on("asset-empty"):
        for ai in empty_assets:
            ctx.emit("asset-empty", "the image has no objects", ai)
    used = {name: n for name, n in counts.items() if n > 0}
    if ctx.on("class-few-objects"):
        for name, n in used.items():
            if n < opt.min_objects:
                ctx.emit("class-few-objects", f"label {name!r} has {n:,} object{'s' if n != 1 else ''} "
                                              f"(threshold {opt.min_objects})", data={"label": name, "count": n},
                         record="labels")
    if len(used) > 1 and ctx.on("class-imbalance"):
        most = max(used, key=lambda k: used[k])
        least = min(used, key=lambda k: used[k])
        ratio = used[most] / used[least]
        if ratio > opt.max_imbalance:
            ctx.emit("class-imbalance", f"label {most!r} has {used[most]:,} objects, {least!r} only "
                                        f"{used[least]:,} ({ratio:.0f}x, threshold {opt.max_imbalance:g}x)",
                     data={"most": most, "least": least, "ratio": ratio}, record="labels")
