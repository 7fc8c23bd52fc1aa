"""Help that teaches: examples on every command, readable placeholders, short usage errors, format aliases."""

from __future__ import annotations

import re

import pytest

from picsellia_formats import formats
from picsellia_formats.cli import COMMAND_MODULES, build_parser, main
from picsellia_formats.commands._examples import EXAMPLES


def _help(capsys: pytest.CaptureFixture[str], command: str) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMAND_MODULES)
def test_every_command_ends_its_help_with_real_examples(capsys: pytest.CaptureFixture[str], command: str) -> None:
    text = _help(capsys, command)
    examples = text.split("\nExamples:\n", 1)[1].strip().splitlines()
    assert 1 <= len(examples) <= 4 and [e.strip() for e in examples] == list(EXAMPLES[command])
    for line in examples:
        assert line.strip().startswith(f"picsellia-formats {command} ")
    # placeholders name the value, never the Python destination
    usage_and_options = text.split("\nExamples:\n", 1)[0]
    assert not re.search(r"\b(FMT_[A-Z_]+|FROM_|[A-Z]+_$)", usage_and_options), usage_and_options


@pytest.mark.parametrize("argv, says", [
    (["convert", "fixtures/raccoon/annotations", "out.json"], "missing: --to"),
    (["pull", "out"], "missing: --dataset, --version, --to"),
    (["split", "a", "b", "--method", "magic"], "argument --method: invalid choice: 'magic' "
     "(choose from 'auto', 'fast', 'exact')"),
])
def test_a_usage_error_is_one_line_and_a_help_hint(capsys: pytest.CaptureFixture[str], argv: list[str],
                                                   says: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"picsellia-formats {argv[0]}: error: {says}", f"(see 'picsellia-formats {argv[0]} --help')"]


@pytest.mark.parametrize("alias, name", [
    ("yolov8", "yolo"), ("Ultralytics", "yolo"), ("pascal_voc", "voc"), ("pascal-voc", "voc"),
    ("tfrecords", "tfrecord"), ("label-studio", "labelstudio"), ("COCO", "coco"),
])
def test_format_aliases_name_the_format(alias: str, name: str) -> None:
    assert formats.get(alias).name == name
    assert alias.lower().replace("-", "_") in formats.listing() or alias.lower() == name


def test_an_unknown_format_lists_the_names_and_aliases() -> None:
    with pytest.raises(formats.UnknownFormatError, match=r"known formats: coco \(mscoco.*yolov8"):
        formats.get("pdf")


def test_convert_takes_an_alias_on_both_sides(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "yolo"
    assert main(["convert", "fixtures/raccoon/annotations", str(out), "--from", "pascal-voc", "--to", "ultralytics",
                 "--images", "fixtures/raccoon/images"]) == 0
    assert capsys.readouterr().out.startswith("voc -> yolo: 40 assets, 44 objects, 1 label in ")
    assert len(list((out / "labels").rglob("*.txt"))) == 40
