"""Command-line entry point: ``python -m picsellia_formats <command> ...``.

Each sub-command is a module of `picsellia_formats.commands` with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; listing it in `COMMAND_MODULES` adds it.
Exit codes: 0 success, 1 findings or a refused lossy conversion, 2 bad input (a `PicselliaFormatsError`,
or an OSError on a path the user named), 3 internal error (anything else: a bug, to report).

Example:
    >>> main(["detect", "fixtures/picsellia_coco_det/annotations.json"])  # doctest: +ELLIPSIS
    coco
    ...
    0
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .commands._examples import epilog
from .commands._options import respell
from .commands._paths import check_images
from .errors import DetectionError, FormatError, LossyConversionError, PicselliaFormatsError
from .outputs import transaction
from .outputs.temps import handlers_held

COMMAND_MODULES: tuple[str, ...] = (
    "convert", "detect", "stats", "preview", "report", "split", "labelmap", "tfrecord", "push", "pull", "emulator",
    "rasterise", "validate",
)

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process ended by SIGPIPE
#: OSErrors about the machine rather than a named path (disk full, quota, read-only): bad input, exit 2.
_ENVIRONMENT_ERRNOS = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM))


#: readable placeholders for options whose name says nothing of the value (``--from FORMAT``, not ``FROM_``)
_METAVARS: dict[str, str] = {
    "from_": "FORMAT", "to": "FORMAT", "images": "DIR", "report": "FILE", "json": "FILE", "schema": "FILE",
    "label_map": "FILE", "data": "DIR", "host": "URL", "status": "STATUS", "seed": "N", "workers": "N",
    "shards": "N", "limit": "N", "examples": "N", "gallery": "N", "classes": "N", "port": "PORT",
    "coco_ground_truth": "FILE", "tfrecord_label_map": "FILE", "tfrecord_extract_images": "DIR",
    "labelme_extract_images": "DIR", "ls_annotator": "NAME", "labelme_circle_points": "N", "voc_folder": "TEXT",
    "rules": "CODES", "skip": "CODES", "ratios": "R1,R2,..", "names": "N1,N2,..", "labels": "L1,L2,..",
    "dataset": "NAME", "version": "NAME", "organization": "NAME", "token": "TOKEN", "title": "TEXT",
}


class _Parser(argparse.ArgumentParser):
    """argparse with short errors: one line and a ``--help`` hint, not the whole usage first."""

    def error(self, message: str) -> NoReturn:
        message = message.replace("the following arguments are required", "missing")
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n(see '{self.prog} --help')\n")


def _readable_metavars(parser: argparse.ArgumentParser) -> None:
    """Name every option's value for a person: ``--coco-ground-truth FILE``, ``--tfrecord-shards N``."""
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0 or action.metavar is not None or action.choices:
            continue
        dest = action.dest.removeprefix("fmt_")
        name = _METAVARS.get(dest)
        if name is None:
            type_name = getattr(action.type, "__name__", "")
            if type_name in ("integer", "int", "_positive", "_shards"):
                name = "N"
            elif type_name == "number" or action.type is float:
                name = "X"
            elif type_name in ("Path", "PosixPath", "WindowsPath"):
                name = "PATH"
            else:
                name = dest.split("_")[-1].upper()
        action.metavar = name


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="picsellia-formats",
        description="Convert, check and sync computer-vision annotations (COCO, Pascal VOC, YOLO, "
        "Picsellia JSON) through one canonical model.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(f"{__package__}.commands.{module_name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP, epilog=epilog(module.NAME),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        _readable_metavars(p)
        p.set_defaults(_run=module.run)
    return parser


def _print_error_lines(lines: Sequence[str], args: argparse.Namespace | None = None) -> None:
    spelling = getattr(args, "flag_spelling", None) or {}
    for line in lines:
        print(f"error: {respell(user_paths(line), spelling)}", file=sys.stderr)


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[^./]+\.(?:tmp|old)-pf$")
_TEMPORARY_PART = re.compile(r"\.(?P<name>[^/\\\s]+?)\.[^./\\\s]+\.(?:tmp|old)-pf(?=[/\\\s:'\"),;]|$)")


def user_paths(text: str) -> str:
    """`text` with every temporary path part (``.out.pf12-ab.tmp-pf``) shown as the user's output (``out``).

    Example:
        >>> user_paths("error: .rec.pf7148-8e956897.tmp-pf/data.record: image 'a.jpg' not found")
        "error: rec/data.record: image 'a.jpg' not found"
    """
    previous = None
    while previous != text:  # nested temporaries (split writes each part inside its own)
        previous, text = text, _TEMPORARY_PART.sub(lambda m: m["name"], text)
    return text


def _shown(name: object) -> str:
    """A path as the user gave it: the temporary ``.out.json.x1y2.tmp-pf`` written first shows as ``out.json``."""
    path = Path(str(name))
    m = _TEMPORARY.match(path.name)
    return str(path.with_name(m["name"])) if m else str(path)


def _os_error_line(exc: OSError) -> str:
    """One line for an OSError on a path: the path, then what is wrong in plain words."""
    where = " -> ".join(_shown(f) for f in (exc.filename, exc.filename2) if f is not None)
    if isinstance(exc, NotADirectoryError):
        what = "a part of this path is a file, not a folder"
    elif isinstance(exc, IsADirectoryError):
        what = "is a folder, expected a file"
    elif isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        what = f"cannot write or read here ({exc.strerror or 'permission denied'}; read-only?)"
    else:
        what = exc.strerror or str(exc)
    return f"{where}: {what}" if where else (exc.strerror or str(exc))


class _LevelPrefix(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {user_paths(record.getMessage())}"


class _Once(logging.Filter):
    """Each distinct message once (an unreadable image is drawn in several places of a report); none
    when the root logger has handlers (``--verbose`` configures it: it prints them already)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if logging.getLogger().handlers:
            return False
        text = record.getMessage()
        if text in self.seen:
            return False
        self.seen.add(text)
        return True


#: What the commands keep alive until a fast exit (`run`): freeing a million-object dataset one object at a
#: time costs a second or more of the process's time for nothing, as the process ends anyway.
_KEPT: list[object] = []


def main(argv: Sequence[str] | None = None, *, fast_exit: bool = False) -> int:
    """Run the CLI; returns the exit code (the console script exits with it).

    `fast_exit`: the caller ends the process with ``os._exit`` right after (`run`), so the commands may
    leave their data to the operating system instead of freeing it.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_INTERNAL
    args._keep = _KEPT if fast_exit else None
    # the package's warnings (an unreadable image drawn grey...) as "warning: ..." lines; --quiet: errors only
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.ERROR if getattr(args, "quiet", False) else logging.WARNING)
    handler.setFormatter(_LevelPrefix())
    handler.addFilter(_Once())
    package_log = logging.getLogger(__package__)
    package_log.addHandler(handler)
    try:
        # Python warnings (Pillow, numpy, a library's deprecation...) as one "warning: ..." line each, once
        with handlers_held(), warnings.catch_warnings():  # SIGTERM: temporary outputs removed, exit 143
            warnings.simplefilter("default")
            warnings.showwarning = _warning_line(package_log)
            return _run(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_INTERNAL
    finally:
        package_log.removeHandler(handler)


def _warning_line(log: logging.Logger) -> Callable[..., None]:
    """A `warnings.showwarning` that logs one line (no source path, no code line), each text once."""

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        text = " ".join(str(message).split())
        log.warning("%s (%s)", text, category.__name__)

    return show


def _run(args: argparse.Namespace) -> int:
    try:
        images = getattr(args, "images", None)
        if isinstance(images, Path):  # every command's --images is a folder (pull's is a switch)
            check_images(images)
        # side outputs (--tfrecord-extract-images) are put in place only if the whole command succeeds
        with transaction(overwrite=bool(getattr(args, "overwrite", False))):
            return int(args._run(args) or 0)
    except LossyConversionError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FINDINGS
    except FormatError as exc:
        _print_error_lines(exc.lines(), args)
        return EXIT_BAD_INPUT
    except (DetectionError, PicselliaFormatsError) as exc:
        _print_error_lines(str(exc).splitlines(), args)
        return EXIT_BAD_INPUT
    except FileNotFoundError as exc:
        _print_error_lines([f"{exc.filename or ''}: no such file or folder".lstrip(": ")])
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader of our output went away (``| head``): stop quietly, as Unix tools do
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        if os.environ.get("PF_DEBUG"):
            raise
        if exc.filename is None and exc.errno not in _ENVIRONMENT_ERRNOS:
            return _internal(exc)  # not about a path the user named: ours to explain
        if exc.filename is None:  # disk full, quota... while writing: name the output (left as it was)
            where = next((getattr(args, k) for k in ("dst", "out") if getattr(args, k, None)), None)
            what = f"{exc.strerror or exc} while writing the output; it was left as it was"
            _print_error_lines([f"{where}: {what}" if where is not None else what], args)
            return EXIT_BAD_INPUT
        _print_error_lines([_os_error_line(exc)], args)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours (a bare ValueError/TypeError too): one line, traceback behind a switch
        if os.environ.get("PF_DEBUG"):
            raise
        return _internal(exc)


def _internal(exc: BaseException) -> int:
    _print_error_lines([f"internal error ({type(exc).__name__}: {user_paths(str(exc))}); "
                        "set PF_DEBUG=1 for the traceback and please report it"])
    return EXIT_INTERNAL


def run() -> None:
    """The console script: `main`, then flush and end the process at once (`os._exit`), the datasets unfreed."""
    code = main(sys.argv[1:], fast_exit=True)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    os._exit(code)
