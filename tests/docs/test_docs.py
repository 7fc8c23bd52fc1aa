"""Every documented example runs as written: README.md and docs/*.md, and each command's ``--help`` examples.

How a page is read (the markers are HTML comments, invisible on GitHub, on the line(s) just before a block):

* ```` ```bash ```` / ```` ```sh ```` blocks run in ``bash -eu`` (a failing line fails the block), ```` ```python ````
  blocks in ``python -c``, and ```` ```console ```` blocks line by line: ``$ command`` lines run, the lines up to the
  next ``$`` are that command's expected output.
* ``<!-- docs-test: output -->`` before a block: it is the expected output (stdout and stderr together, as a terminal
  shows them) of the runnable block before it.
* ``<!-- docs-test: exit N -->``: the block is expected to exit with N (default 0).
* ``<!-- docs-test: skip REASON -->``: the block is not run; the test reports it as skipped, with the reason.
* ``<!-- docs-test: installed -->``: the block begins by making a virtualenv and installing the project
  (``python3 -m venv .venv && .venv/bin/pip install ... && ``): that prefix is left out (this test runs in an
  environment where the project is installed) and ``.venv/bin/`` names this interpreter's tools.

Blocks of one page run in order in one temporary copy of the repository (a page may use what an earlier block
wrote), with ``python``, ``python3`` and ``picsellia-formats`` on PATH naming this interpreter and the copy's
package. The local platform emulator is what sync examples talk to: a page starts it itself (documented as a
user starts it); its port 8080 is replaced by a free one and background processes are stopped at the end.

Output is compared exactly, line by line, after these normalisations and nothing else: the copy's absolute
path is removed (so ``/tmp/x/out.json`` reads ``out.json``), durations (``0.05 s``, ``12 ms``) read ``N s``,
rates (``108 images/s``) read ``N .../s``, trailing spaces and blank lines at the end are dropped, and progress
bars (carriage-return lines) are dropped. In the expected text a line ``...`` stands for any number of lines
and ``...`` inside a line for any text.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from picsellia_formats.commands._examples import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = {"bash", "sh", "shell", "console", "python"}
TIMEOUT = 600
#: what is copied into the temporary repository (not the caches, virtualenvs or .git)
IGNORED = shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache",
                                 "*.egg-info", "build", "dist")


@dataclass
class Block:
    page: str
    line: int
    lang: str
    text: str
    markers: dict[str, str] = field(default_factory=dict)
    expected: str | None = None  # the output block that follows, when marked

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


_FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)\s*$")
_MARKER = re.compile(r"^<!--\s*docs-test:\s*([\w-]+)\s*(.*?)\s*-->\s*$")


def parse(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown page with their markers; output blocks attached to their command."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: dict[str, str] = {}
    i = 0
    while i < len(lines):
        m = _MARKER.match(lines[i].strip())
        if m:
            pending[m.group(1)] = m.group(2)
            i += 1
            continue
        fence = _FENCE.match(lines[i])
        if not fence:
            if lines[i].strip():
                pending = {}  # a marker belongs to the block right after it
            i += 1
            continue
        start, lang, body = i + 1, fence.group(2).lower(), []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence.group(1)):
            body.append(lines[i])
            i += 1
        i += 1
        block = Block(str(path.relative_to(ROOT)), start, lang, "\n".join(body), pending)
        pending = {}
        if "output" in block.markers:
            runnable = [b for b in blocks if b.lang in RUNNABLE]
            assert runnable, f"{block.where}: an output block with no command before it"
            assert "skip" not in runnable[-1].markers, (
                f"{block.where}: an output block after a skipped block is never checked (move it after the "
                "command it shows)")
            runnable[-1].expected = block.text
        elif lang in RUNNABLE:
            blocks.append(block)
    return blocks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_DURATION = re.compile(r"\b\d[\d,]*(?:\.\d+)?\s?(?:ms|s)\b(?!/)")
_RATE = re.compile(r"\b\d[\d,]*(?:\.\d+)?\s?([\w ]+)/s\b")


def normalise(text: str, root: Path) -> str:
    text = text.replace(str(root) + os.sep, "").replace(str(root), ".")
    text = _DURATION.sub("N s", text)
    text = _RATE.sub(lambda m: f"N {m.group(1)}/s", text)
    lines = [line.rstrip() for line in text.split("\n") if "\r" not in line]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def matches(expected: str, actual: str) -> bool:
    """`actual` equals `expected` line by line; ``...`` (a line, or inside one) stands for anything."""
    parts = []
    for line in expected.splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        parts.append(".*?".join(re.escape(piece) for piece in line.split("...")) + r"\n")
    return re.fullmatch("".join(parts), actual + "\n") is not None


class Sandbox:
    """A temporary copy of the repository with this interpreter on PATH; background jobs stopped on close."""

    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "repo"
        shutil.copytree(ROOT, self.root, ignore=IGNORED, symlinks=True)
        self.bin = tmp / "bin"
        self.bin.mkdir()
        # scripts, not symbolic links: a virtualenv's python knows its packages only when run by its own path
        for name, tail in (("python", ""), ("python3", ""), ("picsellia-formats", " -m picsellia_formats")):
            script = self.bin / name
            script.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)}{tail} \"$@\"\n")
            script.chmod(0o755)
        venv = self.root / ".venv" / "bin"  # what the README's install prefix would have made
        venv.mkdir(parents=True)
        for name in ("python", "python3", "picsellia-formats"):
            (venv / name).symlink_to(self.bin / name)
        self.port = _free_port()
        self.groups: list[int] = []
        self.env = {**os.environ, "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                    "PYTHONPATH": str(self.root), "PF_SYNC_BACKOFF": "0.05", "NO_COLOR": "1", "COLUMNS": "120"}
        for key in ("PICSELLIA_TOKEN", "PICSELLIA_API_TOKEN", "PICSELLIA_HOST", "PF_DEBUG", "CI"):
            self.env.pop(key, None)

    def run(self, block: Block) -> tuple[int, str]:
        code = block.text.replace("8080", str(self.port))
        env_file = shlex.quote(str(self.bin / "env.sh"))
        if block.lang == "python":  # with what the page's shell blocks exported (PICSELLIA_HOST...)
            argv = ["bash", "-c", f'[ -f {env_file} ] && . {env_file}; exec python -c "$0"', code]
        else:
            if "installed" in block.markers:
                code = re.sub(r"python3 -m venv \.venv && \.venv/bin/pip install \S+ && ", "", code)
            # the environment a block exports is kept for the next blocks of the page
            argv = ["bash", "-euc", f"{code}\nexport -p > {env_file}"]
            if (self.bin / "env.sh").exists():
                argv[-1] = f". {env_file}\n" + argv[-1]
        proc = subprocess.Popen(argv, cwd=self.root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        self.groups.append(proc.pid)
        out, _ = proc.communicate(timeout=TIMEOUT)
        return proc.returncode, normalise(out, self.root)

    def close(self) -> None:
        for group in self.groups:
            try:
                os.killpg(group, signal.SIGTERM)
            except ProcessLookupError:
                pass


def _check(sandbox: Sandbox, block: Block, code: int, out: str, problems: list[str]) -> None:
    want = int(block.markers.get("exit", "0") or 0)
    if code != want:
        problems.append(f"{block.where}: exit {code}, the page expects {want}\n{block.text}\n--- output:\n{out}")
    elif block.expected is not None and not matches(normalise(block.expected, sandbox.root), out):
        problems.append(f"{block.where}: the output differs from the page\n--- the page shows:\n{block.expected}"
                        f"\n--- the command printed:\n{out}")


def _console(block: Block) -> list[Block]:
    """A console block as one block per ``$ command`` with its output lines as the expected output."""
    out: list[Block] = []
    for j, line in enumerate(block.text.splitlines()):
        if line.startswith("$ "):
            out.append(Block(block.page, block.line + j, "bash", line[2:], dict(block.markers), ""))
        elif out:
            out[-1].expected = (out[-1].expected + "\n" + line).lstrip("\n")
    return out


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_example_of_the_page_runs_as_written(page: Path, tmp_path: Path) -> None:
    blocks = parse(page)
    skipped = [f"{b.where}: {b.markers['skip'] or 'no reason given'}" for b in blocks if "skip" in b.markers]
    assert all(": no reason given" not in s for s in skipped), skipped
    sandbox = Sandbox(tmp_path)
    problems: list[str] = []
    ran = 0
    try:
        for block in blocks:
            if "skip" in block.markers:
                continue
            for part in _console(block) if block.lang == "console" else [block]:
                code, out = sandbox.run(part)
                ran += 1
                _check(sandbox, part, code, out, problems)
    finally:
        sandbox.close()
    assert not problems, "\n\n".join(problems)
    if skipped and not ran:
        pytest.skip("; ".join(skipped))


def test_pages_mark_every_skip_with_a_reason() -> None:
    for page in PAGES:
        for block in parse(page):
            if "skip" in block.markers:
                assert block.markers["skip"], f"{block.where}: docs-test: skip needs a reason"


def test_the_bundled_datasets_of_the_docs_are_whole() -> None:
    """Every fixture the README and docs use has every image its annotations name (raccoon_voc is partial on
    purpose: the docs use it only where they say so)."""
    import picsellia_formats as pf

    findings = pf.validate(pf.read(ROOT / "fixtures/raccoon/annotations"), images=ROOT / "fixtures/raccoon/images")
    assert not [f for f in findings if f.code.startswith("image-")], findings.summary()
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if "fixtures/raccoon_voc/images" in line:
                context = " ".join(lines[max(0, i - 6):i + 1])
                assert "partial" in context, f"{page.name}:{i + 1}: uses the partial raccoon_voc without saying so"


def test_every_help_example_runs(tmp_path: Path) -> None:
    """The ``Examples:`` of every command's ``--help``, in order, in a copy of the repository (``push`` and
    ``pull`` against the local emulator, which the ``emulator`` examples would start in the foreground)."""
    sandbox = Sandbox(tmp_path)
    problems: list[str] = []
    try:
        token = "docs-test-token"
        start = Block("emulator", 0, "bash", f"picsellia-formats emulator --port 8080 --data emu --token {token} "
                      "> emu.log 2>&1 &\nexport PICSELLIA_TOKEN=" + token)
        assert sandbox.run(start)[0] == 0
        for command, lines in EXAMPLES.items():
            if command == "emulator":
                continue  # runs until stopped; started above the way its first example says
            for k, line in enumerate(lines):
                block = Block(f"{command} --help", k + 1, "bash", line)
                code, out = sandbox.run(block)
                if code != 0:
                    problems.append(f"{line}\nexit {code}\n{out}")
    finally:
        sandbox.close()
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("expected, actual, same", [
    ("a\nb", "a\nb", True),
    ("a\nb", "a\nc", False),
    ("a\n...\nd", "a\nb\nc\nd", True),
    ("a\n...\nd", "a\nd", True),
    ("a\n...\nd", "a\nb", False),
    ("x in ... -> out.json", "x in N s -> out.json", True),
    ("1 label", "1 labels", False),
    ("one", "one\ntwo", False),  # an extra line the page does not show is a difference
])
def test_output_comparison(expected: str, actual: str, same: bool) -> None:
    assert matches(expected, actual) is same


def test_normalisation_is_only_times_rates_and_the_copy_path(tmp_path: Path) -> None:
    text = f"voc -> coco: 40 assets in 0.05 s -> {tmp_path}/r.json\npush 36 images/s, 12 ms\nbar\r50%\n\n"
    assert normalise(text, tmp_path) == "voc -> coco: 40 assets in N s -> r.json\npush N images/s, N s"
    assert normalise("40 assets, 44 objects", tmp_path) == "40 assets, 44 objects"


def test_markers_attach_to_the_next_block(tmp_path: Path) -> None:
    page = ROOT / "docs" / "_parse_probe.md"
    text = ("<!-- docs-test: exit 2 -->\n```bash\nfalse\n```\n\n<!-- docs-test: output -->\n```\nout\n```\n"
            "\n<!-- docs-test: skip a reason -->\n```python\nx\n```\n\n```json\n{}\n```\n")
    page.write_text(text)
    try:
        first, second = parse(page)
    finally:
        page.unlink()
    assert (first.lang, first.markers, first.expected) == ("bash", {"exit": "2"}, "out")
    assert (second.lang, second.markers) == ("python", {"skip": "a reason"})
