"""Shared CLI plumbing: format-specific options gathered from the registry.

Every `Option` a format declares becomes one flag on the commands that read or write; after
parsing, `split_format_options` hands each reader/writer the options that are its own and
refuses flags that neither the source nor the target format takes.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from .. import formats
from ..errors import PicselliaFormatsError


def _dest(flag: str) -> str:
    return "fmt_" + flag.lstrip("-").replace("-", "_")


def add_format_options(parser: argparse.ArgumentParser, read: bool = True, write: bool = True) -> None:
    """Add one flag per distinct format option (grouped under 'format options')."""
    group = parser.add_argument_group("format options")
    seen: dict[str, formats.Option] = {}
    for spec in formats.specs():
        options = (spec.read_options if read else ()) + (spec.write_options if write else ())
        for opt in options:
            if opt.flag in seen:
                continue
            seen[opt.flag] = opt
            owners = sorted({s.name for s in formats.specs() for o in s.read_options + s.write_options
                             if o.flag == opt.flag})
            help_text = f"{opt.help} [{', '.join(owners)}]"
            if opt.type is None:
                group.add_argument(opt.flag, dest=_dest(opt.flag), action="store_const", const=True,
                                   default=None, help=help_text)
            else:
                group.add_argument(opt.flag, dest=_dest(opt.flag), type=opt.type, choices=opt.choices,
                                   default=None, help=help_text)


def split_format_options(args: argparse.Namespace, source: str | None, target: str | None
                         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(read options of `source`, write options of `target`) from the parsed flags."""
    given = {k: v for k, v in vars(args).items() if k.startswith("fmt_") and v is not None}
    read_opts: dict[str, Any] = {}
    write_opts: dict[str, Any] = {}
    used: set[str] = set()
    if source:
        for opt in formats.get(source).read_options:
            if _dest(opt.flag) in given:
                read_opts[opt.name] = given[_dest(opt.flag)]
                used.add(_dest(opt.flag))
    if target:
        for opt in formats.get(target).write_options:
            if _dest(opt.flag) in given:
                write_opts[opt.name] = given[_dest(opt.flag)]
                used.add(_dest(opt.flag))
    unused = sorted(set(given) - used)
    if unused:
        flags = ", ".join("--" + u[4:].replace("_", "-") for u in unused)
        raise PicselliaFormatsError(
            f"{flags}: not an option of the source format ({source}) nor of the target format ({target})"
        )
    return read_opts, write_opts


def flag_spelling(target: str | None, source: str | None = None) -> dict[str, str]:
    """How the library's messages name a format option (``--masks``, the ``tfrecord`` command's flag) ->
    how `convert`/`split` spell it (``--tfrecord-masks``), for the formats of this run.

    Example:
        >>> flag_spelling("tfrecord")["--masks"]
        '--tfrecord-masks'
    """
    out: dict[str, str] = {}
    for name, write in ((source, False), (target, True)):
        if not name:
            continue
        spec = formats.get(name)
        for opt in spec.write_options if write else spec.read_options:
            short = "--" + opt.name.replace("_", "-")
            if short != opt.flag:
                out[short] = opt.flag
    if "--skip-missing" in out:
        out["--skip-missing-images"] = out.pop("--skip-missing")
    return out


_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def respell(text: str, spelling: dict[str, str]) -> str:
    """`text` with every flag the current command spells differently replaced (see `flag_spelling`).

    Example:
        >>> respell("--masks keeps them", {"--masks": "--tfrecord-masks"})
        '--tfrecord-masks keeps them'
    """
    if not spelling:
        return text
    return _FLAG.sub(lambda m: spelling.get(m.group(0), m.group(0)), text)


def int_at_least(minimum: int, maximum: int | None = None) -> Any:
    """An argparse type: an integer in ``[minimum, maximum]`` (a clean usage error otherwise).

    Example:
        >>> int_at_least(1)("3")
        3
    """
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def float_at_least(minimum: float, maximum: float | None = None, *, above: bool = False) -> Any:
    """An argparse type: a finite number in ``[minimum, maximum]`` (``(minimum, ...`` with `above`)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        low_ok = value > minimum if above else value >= minimum
        if not low_ok or (maximum is not None and value > maximum) or value == float("inf"):
            bound = (f"between {minimum} and {maximum}" if maximum is not None
                     else f"{'>' if above else '>='} {minimum}")
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def _strict_mode(text: str) -> bool | str:
    if text == "all":
        return "all"
    if text == "annotations":
        return True
    raise argparse.ArgumentTypeError(f"--strict takes 'annotations' (the default) or 'all', got {text!r}; "
                                     "write --strict=all, with '='")


def add_strict_argument(parser: argparse.ArgumentParser) -> None:
    """``--strict`` (refuse annotation loss) and ``--strict=all`` (also format metadata with no place
    in the target); the value is what `api.write`'s ``strict=`` takes.

    Example:
        >>> p = argparse.ArgumentParser(); add_strict_argument(p)
        >>> p.parse_args([]).strict, p.parse_args(["--strict"]).strict, p.parse_args(["--strict=all"]).strict
        (False, True, 'all')
    """
    parser.add_argument(
        "--strict", nargs="?", const=True, default=False, type=_strict_mode, metavar="all",
        help="refuse (exit 1, write nothing) a conversion that drops or approximates annotation data "
             "(objects, geometry, labels, attributes, Q&A, statuses, scores); --strict=all also refuses "
             "format metadata with no place in the target (VOC header fields, COCO info/licenses)")


def add_engine_arguments(parser: argparse.ArgumentParser, engine_help: str,
                         workers_flag: str = "--workers", local_cluster: str | None = None) -> None:
    """``--engine local|dask`` (`engine_help` says where what runs) and ``--scheduler``/``--address``
    (a running Dask scheduler; else a local cluster of `workers_flag` processes, or as `local_cluster` says).

    Example:
        >>> p = argparse.ArgumentParser(); add_engine_arguments(p, "where masks are painted")
        >>> p.parse_args(["--engine", "dask", "--address", "tcp://h:8786"]).scheduler
        'tcp://h:8786'
    """
    parser.add_argument("--engine", choices=("local", "dask"), default=None, help=engine_help)
    parser.add_argument("--scheduler", "--address", dest="scheduler", default=None,
                        help="with --engine dask: address of a running scheduler (tcp://host:8786; default: "
                             f"$PF_DASK_SCHEDULER, else a local cluster of "
                             f"{local_cluster or workers_flag + ' processes'})")
