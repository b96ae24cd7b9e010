"""podio.files on the blocking face: the same helpers run on SyncPodio's engine loop."""

from __future__ import annotations

from pathlib import Path

import httpx

from podiokit.sync import SyncPodio
from podiokit.testing import Emulator


def test_sync_upload_download_and_stream(tmp_path: Path) -> None:
    emu = Emulator(items=5)
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    on_disk = tmp_path / "notes.txt"
    on_disk.write_bytes(b"line\n" * 40_000)
    with SyncPodio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    ) as podio:
        podio.authenticate_with_credentials(creds["username"], creds["password"])
        uploaded = podio.files.upload(on_disk, "notes.txt")
        assert uploaded.size == on_disk.stat().st_size
        assert podio.files.download(uploaded.file_id) == on_disk.read_bytes()
        chunks = list(podio.files.stream(uploaded.file_id, chunk_size=65_536))
        assert b"".join(chunks) == on_disk.read_bytes()
        assert max(len(c) for c in chunks) <= 65_536
