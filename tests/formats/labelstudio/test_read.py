"""Label Studio reader: malformed results found by the fuzz suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import picsellia_formats as pf

SRC = Path(__file__).resolve().parents[3] / "fixtures/labelstudio/export_obb/data_obb.json"


@pytest.mark.parametrize("key", ["id", "from_name", "to_name"])
def test_a_result_key_of_the_wrong_type_is_a_format_error(key: str, tmp_path: Path) -> None:
    # tests/fuzz (PF_FUZZ_SEED=7, labelstudio_obb case 278): a list as from_name was exit 3
    # (TypeError: unhashable type: 'list')
    data = json.loads(SRC.read_text())
    data[0]["annotations"][0]["result"][0][key] = ["x"]
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(data))
    with pytest.raises(pf.FormatError, match=r"ls\.json: task\[0\].*result\[0\]: 'id', 'from_name' and 'to_name'"):
        pf.read(path, "labelstudio")
