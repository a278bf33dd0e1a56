"""A real Orthanc (Debian's package) for the PACS tests, started once per test session."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories.live import free_port

ORTHANC = "/usr/sbin/Orthanc"


@pytest.fixture(scope="session")
def orthanc_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(ORTHANC).exists():
        pytest.skip("Debian's orthanc is not installed (scripts/system-packages installs it)")
    root = tmp_path_factory.mktemp("orthanc")
    http_port, dicom_port = free_port(), free_port()
    config = {
        "Name": "YILIAN-TEST",
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "StorageDirectory": str(root / "storage"),
        "IndexDirectory": str(root / "index"),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [],
    }
    (root / "orthanc.json").write_text(json.dumps(config))
    log = (root / "orthanc.log").open("w")
    process = subprocess.Popen([ORTHANC, str(root / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/system", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"Orthanc did not start: {(root / 'orthanc.log').read_text()[-2000:]}")
        time.sleep(0.1)
    yield url
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    shutil.rmtree(root, ignore_errors=True)
