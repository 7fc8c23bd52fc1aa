"""The emulator: the platform's error shape, verbs, pagination, persistence, presigned storage, faults."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from picsellia_formats.sync.emulator import Emulator, Settings

from .conftest import ROOT


def _get(emu: Emulator, path: str, method: str = "GET", token: str | None = None, **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or emu.token}"}
    return requests.request(method, emu.url + path, headers=headers, timeout=10, **kw)


@pytest.mark.parametrize(("path", "method", "status"), [
    ("/api/nowhere", "GET", 404),
    ("/api/organization/00000000-0000-0000-0000-000000000000/datasets/find?name=x", "GET", 404),
    ("/api/home/ping", "DELETE", 405),
    ("/api/dataset/version/00000000-0000-0000-0000-000000000000/bulk-labels", "GET", 405),
])
def test_errors_have_the_platform_shape(emulator: Emulator, path: str, method: str, status: int) -> None:
    r = _get(emulator, path, method)
    assert r.status_code == status
    assert set(r.json()) == {"message", "detail"}


def test_unauthorized_without_a_valid_token(emulator: Emulator) -> None:
    r = _get(emulator, "/api/home/ping", token="nope")
    assert r.status_code == 401 and r.json()["message"] == "Unauthorized"
    assert "nope" not in r.text


def test_bad_bodies_are_422_or_400(emulator: Emulator) -> None:
    org = emulator.organization_id
    assert _get(emulator, f"/api/organization/{org}/datasets", "POST", data=b"{not json").status_code == 400
    assert _get(emulator, f"/api/organization/{org}/datasets", "POST", json={"name": ""}).status_code == 422


def test_xget_is_a_verb_with_a_body(emulator: Emulator) -> None:
    org = emulator.organization_id
    ds = _get(emulator, f"/api/organization/{org}/datasets", "POST", json={"name": "d"}).json()
    v = _get(emulator, f"/api/dataset/{ds['id']}/versions", "POST", json={"version": "v1"}).json()
    r = _get(emulator, f"/api/dataset/version/{v['id']}/bulk-labels", "XGET", json={"names": ["b", "a", "b"]})
    assert [label["name"] for label in r.json()] == ["b", "a", "b"]
    assert len({label["id"] for label in r.json()}) == 2


def test_cursor_pagination(emulator: Emulator) -> None:
    org = emulator.organization_id
    for i in range(5):
        _get(emulator, f"/api/organization/{org}/datasets", "POST", json={"name": f"d{i}"})
    page = _get(emulator, f"/api/organization/{org}/datasets?limit=2&offset=0").json()
    names = [d["name"] for d in page["items"]]
    assert page["count"] == 5
    for _ in range(5):
        if not page["next_cursor"]:
            break
        page = _get(emulator, f"/api/organization/{org}/datasets?limit=2&cursor={page['next_cursor']}").json()
        names += [d["name"] for d in page["items"]]
    assert names == [f"d{i}" for i in range(5)]
    assert _get(emulator, f"/api/organization/{org}/datasets?limit=5000").status_code == 422


def test_state_and_token_survive_a_restart(tmp_path: Path) -> None:
    with Emulator(tmp_path / "state") as emu:
        token, org = emu.token, emu.organization_id
        _get(emu, f"/api/organization/{org}/datasets", "POST", json={"name": "kept"})
    with Emulator(tmp_path / "state") as emu:
        assert (emu.token, emu.organization_id) == (token, org)
        assert _get(emu, f"/api/organization/{org}/datasets/find?name=kept").status_code == 200


def _presign(emu: Emulator, object_name: str) -> dict:
    conn = emu.store.organization()["default_connector_id"]
    return _get(emu, f"/api/object-storage/{conn}/generate_presigned_url", "POST",
                json={"object_name": object_name, "content_type": "image/jpeg"}).json()


def test_presigned_upload_points_back_and_is_signed(emulator: Emulator) -> None:
    presigned = _presign(emulator, "a/b.jpg")
    url, fields = presigned["presigned_url_data"]["url"], presigned["presigned_url_data"]["fields"]
    assert url.startswith(emulator.url)
    r = requests.post(url, data={**fields, "Content-Type": "image/jpeg"}, files={"file": ("b.jpg", b"\r\n--x\r\n")},
                      timeout=10)
    assert r.status_code == 204 and emulator.stats()["uploads"] == 1
    bad = {**fields, "key": "a/other.jpg"}
    assert requests.post(url, data=bad, files={"file": ("b", b"x")}, timeout=10).status_code == 403
    path, _ = emulator.store.get_object("a/b.jpg")
    assert path.read_bytes() == b"\r\n--x\r\n"


def test_storage_download_supports_ranges(emulator: Emulator) -> None:
    presigned = _presign(emulator, "o.bin")
    requests.post(presigned["presigned_url_data"]["url"], data=presigned["presigned_url_data"]["fields"],
                  files={"file": ("o", b"0123456789")}, timeout=10)
    conn = emulator.store.organization()["default_connector_id"]
    url = _get(emulator, f"/api/object-storage/{conn}/retrieve_presigned_url", "POST",
               json={"object_name": "o.bin"}).json()["presigned_url"]
    assert requests.get(url, timeout=10).content == b"0123456789"
    part = requests.get(url, headers={"Range": "bytes=4-"}, timeout=10)
    assert part.status_code == 206 and part.content == b"456789"
    assert requests.get(url.replace("sig=", "sig=0"), timeout=10).status_code == 403


def test_fault_injection_kinds(tmp_path: Path) -> None:
    with Emulator(tmp_path / "s", settings=Settings(fail_rate=1.0, fail_kinds=("429",), retry_after=2)) as emu:
        r = _get(emu, f"/api/organization/{emu.organization_id}")
        assert r.status_code == 429 and r.headers["Retry-After"] == "2" and set(r.json()) == {"message", "detail"}
        emu.configure(fail_kinds=("500",))
        assert _get(emu, f"/api/organization/{emu.organization_id}").status_code == 500
        emu.configure(fail_kinds=("drop",))
        with pytest.raises(requests.ConnectionError):
            _get(emu, f"/api/organization/{emu.organization_id}")
        assert _get(emu, "/_emulator/stats").json()["faults"] == {"500": 1, "429": 1, "drop": 1}


def test_settings_over_http(emulator: Emulator) -> None:
    r = _get(emulator, "/_emulator/settings", "POST", json={"upload_delay": 0.01})
    assert r.json()["upload_delay"] == 0.01 and emulator.settings.upload_delay == 0.01
    assert _get(emulator, "/_emulator/settings", "POST", json={"nope": 1}).status_code == 422
    assert _get(emulator, "/_emulator/stats", token="nope").status_code == 401


def test_processing_and_jobs_take_time(tmp_path: Path) -> None:
    with Emulator(tmp_path / "s", settings=Settings(job_delay=0.3)) as emu:
        org = emu.organization_id
        ds = _get(emu, f"/api/organization/{org}/datasets", "POST", json={"name": "d"}).json()
        v = _get(emu, f"/api/dataset/{ds['id']}/versions", "POST", json={"version": "v"}).json()
        lake = _get(emu, f"/api/organization/{org}/datalake").json()
        data = _get(emu, f"/api/datalake/{lake['id']}/datas", "POST",
                    json={"filename": "x.jpg", "object_name": "never-uploaded"}).json()
        assert data["upload_status"] == "PENDING"
        assert _get(emu, f"/api/data/{data['id']}").json()["upload_status"] == "ERROR"
        job = _get(emu, f"/api/dataset/version/{v['id']}/assets", "POST", json={"data_ids": [data["id"]]}).json()
        assert _get(emu, f"/api/job/{job['job']['id']}").json()["status"] == "RUNNING"
        time.sleep(0.35)
        assert _get(emu, f"/api/job/{job['job']['id']}").json()["status"] == "SUCCESS"


def test_cli_prints_token_and_organization(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "picsellia_formats", "emulator", "--port", "0", "--data",
                             str(tmp_path / "state")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        url = re.search(r"(http://127\.0\.0\.1:\d+)", lines[0]).group(1)
        token = lines[1].split("token:")[1].strip()
        assert "organization: emulated-org" in lines[2]
        r = requests.get(url + "/api/home/ping", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_malformed_bodies_never_crash_the_emulator(emulator: Emulator) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    org = emulator.organization_id
    ds = _get(emulator, f"/api/organization/{org}/datasets", "POST", json={"name": "fuzz"}).json()
    v = _get(emulator, f"/api/dataset/{ds['id']}/versions", "POST", json={"version": "v1"}).json()
    lake = _get(emulator, f"/api/organization/{org}/datalake").json()
    targets = [("POST", f"/api/dataset/version/{v['id']}/bulk-annotations"),
               ("XGET", f"/api/dataset/version/{v['id']}/annotations"),
               ("XGET", f"/api/dataset/version/{v['id']}/bulk-labels"),
               ("POST", f"/api/dataset/version/{v['id']}/assets"),
               ("XGET", f"/api/dataset/version/{v['id']}/assets"),
               ("POST", f"/api/datalake/{lake['id']}/datas"),
               ("PATCH", f"/api/dataset/version/{v['id']}")]
    scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
               | st.text(max_size=8))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.sampled_from(["annotations", "asset_id", "rectangles", "x", "label_id",
                                                             "names", "data_ids", "filenames", "type", "filename",
                                                             "object_name", "meta", "import_type", "status"]),
                                            inner, max_size=4), max_leaves=12)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(target=st.sampled_from(targets), body=values)
    def check(target: tuple[str, str], body: object) -> None:
        r = _get(emulator, target[1], target[0], json=body)
        assert r.status_code < 500, (target, body, r.text)
        if r.status_code >= 400:
            assert set(r.json()) == {"message", "detail"}

    check()
