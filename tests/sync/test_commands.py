"""The ``push`` and ``pull`` commands, in process against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.cli import main
from picsellia_formats.commands.push import guess_images_dir
from picsellia_formats.sync.emulator import Emulator

from .conftest import boxes_by_file


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, emulator: Emulator, tmp_path: Path) -> Emulator:
    monkeypatch.setenv("PICSELLIA_TOKEN", emulator.token)
    monkeypatch.setenv("PF_SYNC_BACKOFF", "0.005")
    monkeypatch.chdir(tmp_path)
    return emulator


def test_dry_run_prints_the_plan_and_sends_nothing(raccoon_voc_dir: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PICSELLIA_API_TOKEN", raising=False)
    monkeypatch.delenv("PICSELLIA_TOKEN", raising=False)
    code = main(["push", str(raccoon_voc_dir / "annotations"), "--from", "voc", "--dataset", "d", "--version", "v",
                 "--host", "https://unreachable.invalid", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "plan: push 40 images, 44 objects and 1 label " in out and "OBJECT_DETECTION" in out


def test_images_folder_is_found_beside_the_annotations(raccoon_voc_dir: Path) -> None:
    ds = pf.read(raccoon_voc_dir / "annotations", "voc")
    assert guess_images_dir(raccoon_voc_dir / "annotations", ds) == raccoon_voc_dir / "images"


def test_push_then_pull_with_the_cli(env: Emulator, raccoon_voc_dir: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    src = raccoon_voc_dir / "annotations"
    args = ["push", str(src), "--dataset", "raccoon", "--version", "v1", "--host", env.url, "--tag", "a",
            "--tag", "b", "--quiet"]
    assert main(args) == 0
    assert main(args[:-1]) == 0
    assert "0 uploaded" in capsys.readouterr().out
    assert main(["pull", str(tmp_path / "out"), "--dataset", "raccoon", "--version", "v1", "--to", "coco",
                 "--host", env.url]) == 0
    out = capsys.readouterr().out
    assert "40 assets, 44 objects" in out and "40 downloaded" in out
    back = pf.read(tmp_path / "out" / "annotations.json")
    assert boxes_by_file(back) == boxes_by_file(pf.read(src, "voc"))
    assert main(["pull", str(tmp_path / "ann"), "--dataset", "raccoon", "--version", "v1", "--to", "voc",
                 "--host", env.url, "--no-images", "--status", "accepted", "-q"]) == 0
    assert not (tmp_path / "ann" / "images").exists()
    capsys.readouterr()
    # a status filter that keeps nothing says why, with the statuses the version has
    assert main(["pull", str(tmp_path / "acc"), "--dataset", "raccoon", "--version", "v1", "--to", "coco",
                 "--host", env.url, "--no-images", "--status", "ACCEPTED"]) == 0
    out = capsys.readouterr().out
    assert "0 assets, 0 objects" in out
    assert ("40 assets whose review status is not ACCEPTED (--status ACCEPTED; the version has 40 PENDING)"
            in out), out


def test_pull_of_a_missing_dataset_exits_2(env: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["pull", str(tmp_path / "o"), "--dataset", "nope", "--version", "v1", "--to", "coco",
                 "--host", env.url])
    assert code == 2 and "dataset 'nope' not found" in capsys.readouterr().err


def test_push_without_token_exits_2(tmp_path: Path, raccoon_voc_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PICSELLIA_API_TOKEN", raising=False)
    monkeypatch.delenv("PICSELLIA_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    code = main(["push", str(raccoon_voc_dir / "annotations"), "--dataset", "d", "--version", "v"])
    assert code == 2 and "no API token" in capsys.readouterr().err
