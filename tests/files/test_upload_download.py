"""podio.files against the emulator: every source kind, download, stream, attach, auth flows,
the replay after a forced expiry, a 20 MB upload in bounded memory and a download held
about once."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from pathlib import Path

import pytest

from podiokit import PodioNotFoundError
from podiokit.testing import Emulator

from .conftest import connect, expected_digest, generated, login_app, login_password

pytestmark = pytest.mark.anyio

MB = 1024 * 1024


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=5)


async def test_bytes_upload_round_trips(emu: Emulator) -> None:
    payload = bytes(range(256)) * 1000 + b"\x00tail"
    async with connect(emu) as podio:
        await login_password(podio, emu)
        uploaded = await podio.files.upload(payload, "data.bin", mimetype="application/x-test")
        assert uploaded.name == "data.bin"
        assert uploaded.size == len(payload)
        assert uploaded.mimetype == "application/x-test"
        # Podio's file host: the SDK sends the token there (https, *.podio.com).
        assert uploaded.link == f"https://files.podio.com/{uploaded.file_id}"
        fetched = await podio.files.get(uploaded.file_id)
        assert (fetched.name, fetched.size) == ("data.bin", len(payload))
        assert await podio.files.download(uploaded.file_id) == payload
        chunks = [c async for c in podio.files.stream(uploaded.file_id, chunk_size=4096)]
        assert b"".join(chunks) == payload
        assert len(chunks) == -(-len(payload) // 4096)
        assert all(len(c) == 4096 for c in chunks[:-1])


async def test_path_and_file_object_sources(emu: Emulator, tmp_path: Path) -> None:
    on_disk = tmp_path / "report.csv"
    on_disk.write_bytes(b"a,b\n1,2\n" * 5000)
    async with connect(emu) as podio:
        await login_password(podio, emu)
        from_path = await podio.files.upload(on_disk, "report.csv")
        from_str = await podio.files.upload(str(on_disk), "report2.csv")
        with on_disk.open("rb") as fh:
            from_file = await podio.files.upload(fh, "report3.csv")
            assert not fh.closed  # the caller's file stays the caller's
        for uploaded in (from_path, from_str, from_file):
            assert await podio.files.download(uploaded.file_id) == on_disk.read_bytes()
        assert from_path.mimetype == "text/csv"  # guessed from the name


async def test_unseekable_file_object_is_spooled(emu: Emulator) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    payload = b"streamed through a pipe " * 3000
    async with connect(emu) as podio:
        await login_password(podio, emu)
        emu.expire_tokens()  # the replay must resend what the pipe gave once
        uploaded = await podio.files.upload(Pipe(payload), "pipe.txt")
        assert await podio.files.download(uploaded.file_id) == payload


async def test_upload_replayed_after_forced_expiry(emu: Emulator) -> None:
    total = 3 * MB + 17
    async with connect(emu) as podio:
        await login_password(podio, emu)
        before = emu.stats()
        emu.expire_tokens()
        uploaded = await podio.files.upload(generated(total), "replayed.bin")
        after = emu.stats()
        # One 401 for the expired token, one refresh, then the whole body again.
        assert after["routes"]["POST /file/"] - before["routes"].get("POST /file/", 0) == 2
        assert after["token_grants"].get("refresh_token", 0) == 1
        assert uploaded.size == total
        digest = hashlib.sha256()
        async for chunk in podio.files.stream(uploaded.file_id):
            digest.update(chunk)
        assert digest.hexdigest() == expected_digest(total)


@pytest.mark.parametrize("flow", ["app", "password"])
async def test_upload_attach_under_each_flow(emu: Emulator, flow: str) -> None:
    async with connect(emu) as podio:
        if flow == "app":
            app_id = await login_app(podio, emu)
        else:
            await login_password(podio, emu)
            app_id = emu.credentials["apps"][0]["app_id"]
        page = await podio.items.filter(app_id, limit=1)
        item_id = page.items[0].item_id
        uploaded = await podio.files.upload(b"attached under " + flow.encode(), f"{flow}.txt")
        await podio.files.attach(uploaded.file_id, ref_type="item", ref_id=item_id)
        item = await podio.items.get(item_id)
        assert uploaded.file_id in [f.file_id for f in item.files or []]
        assert await podio.files.download(uploaded.file_id) == b"attached under " + flow.encode()


async def test_download_over_a_real_socket(emu: Emulator) -> None:
    # Served on a port, links point at the emulator's own origin (the API origin gets the
    # token over http; nothing else does).
    async with connect(emu, loopback=True) as podio:
        await login_password(podio, emu)
        uploaded = await podio.files.upload(b"over the wire" * 1000, "wire.txt")
        assert uploaded.link is not None and uploaded.link.startswith("http://127.0.0.1:")
        assert await podio.files.download(uploaded.file_id) == b"over the wire" * 1000
        chunks = [c async for c in podio.files.stream(uploaded.file_id)]
        assert b"".join(chunks) == b"over the wire" * 1000


async def test_twenty_megabytes_in_bounded_memory(emu: Emulator) -> None:
    total = 20 * MB
    async with connect(emu) as podio:
        await login_password(podio, emu)
        await podio.files.upload(b"warm-up", "warm.txt")  # imports, pools, parsers
        tracemalloc.start()
        try:
            uploaded = await podio.files.upload(generated(total), "big.bin")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # Client, transport and emulator share this process; none holds the file whole.
        assert peak < 4 * MB, f"peak {peak / MB:.1f} MB for a {total / MB:.0f} MB upload"
        assert uploaded.size == total
        digest = hashlib.sha256()
        async for chunk in podio.files.stream(uploaded.file_id):
            digest.update(chunk)
        assert digest.hexdigest() == expected_digest(total)


async def test_download_holds_the_file_about_once(emu: Emulator) -> None:
    # httpx's own read keeps every chunk and then joins them: twice the file. The download
    # reads into one buffer of the file's size (benchmarks/bench_download.py).
    total = 24 * MB
    async with connect(emu, loopback=True) as podio:
        await login_password(podio, emu)
        uploaded = await podio.files.upload(generated(total), "big.bin")
        await podio.files.download((await podio.files.upload(b"warm", "w.bin")).file_id)
        tracemalloc.start()
        try:
            data = await podio.files.download(uploaded.file_id)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # The emulator shares the process and streams from its stored copy: a chunk or two.
        assert peak < 1.3 * total, f"peak {peak / total:.2f}x the size of a {total // MB} MB file"
        assert type(data) is bytes
        assert hashlib.sha256(data).hexdigest() == expected_digest(total)


async def test_unknown_file(emu: Emulator) -> None:
    async with connect(emu) as podio:
        await login_password(podio, emu)
        with pytest.raises(PodioNotFoundError):
            await podio.files.download(999_999_999)


@pytest.mark.parametrize(
    ("source", "filename", "error", "match"),
    [
        (12345, "x.bin", TypeError, "upload source must be bytes, a path"),
        (io.StringIO("text"), "x.txt", TypeError, "binary mode"),
        (b"data", "", ValueError, "filename must be a non-empty str"),
    ],
)
async def test_bad_upload_input_fails_before_a_request(
    emu: Emulator, source: object, filename: str, error: type[Exception], match: str
) -> None:
    async with connect(emu) as podio:
        await login_password(podio, emu)
        before = emu.stats()["routes"].get("POST /file/", 0)
        with pytest.raises(error, match=match):
            await podio.files.upload(source, filename)  # type: ignore[arg-type]
        assert emu.stats()["routes"].get("POST /file/", 0) == before


async def test_unreadable_path_raises_its_own_oserror(emu: Emulator, tmp_path: Path) -> None:
    missing = tmp_path / "missing.bin"
    async with connect(emu) as podio:
        await login_password(podio, emu)
        before = emu.stats()["routes"].get("POST /file/", 0)
        with pytest.raises(FileNotFoundError) as not_found:
            await podio.files.upload(missing, "x.bin")
        assert not_found.value.filename == str(missing)
        assert str(missing) in str(not_found.value) and "cannot be read" in str(not_found.value)
        with pytest.raises(FileNotFoundError, match=r"missing\.bin"):
            await podio.files.upload(str(missing), "x.bin")
        with pytest.raises(IsADirectoryError) as directory:  # any other OSError: its own class
            await podio.files.upload(tmp_path, "x.bin")
        assert str(tmp_path) in str(directory.value)
        assert emu.stats()["routes"].get("POST /file/", 0) == before


async def test_async_iterator_of_non_bytes_is_refused(emu: Emulator) -> None:
    async def words():  # type: ignore[no-untyped-def]
        yield "not bytes"

    async with connect(emu) as podio:
        await login_password(podio, emu)
        with pytest.raises(TypeError, match="must yield bytes"):
            await podio.files.upload(words(), "x.txt")


async def test_file_ids_on_item_comment_and_task_creation(emu: Emulator) -> None:
    async with connect(emu) as podio:
        await login_password(podio, emu)
        app_id = emu.credentials["apps"][0]["app_id"]
        first = await podio.files.upload(b"one", "one.txt")
        second = await podio.files.upload(b"two", "two.txt")
        created = await podio.items.create(app_id, fields={"title": "with files"},
                                           file_ids=[first.file_id])  # fmt: skip
        item = await podio.items.get(created.item_id)
        assert [f.file_id for f in item.files or []][-1:] == [first.file_id]
        comment = await podio.comments.create("item", created.item_id, value="see attached",
                                              file_ids=[second.file_id])  # fmt: skip
        assert [f.file_id for f in comment.files or []] == [second.file_id]
        task = await podio.tasks.create(text="review", file_ids=[first.file_id, second.file_id])
        got = await podio.tasks.get(task["task_id"] if isinstance(task, dict) else task.task_id)
        assert [f.file_id for f in got.files or []] == [first.file_id, second.file_id]
        # An unknown file id is refused before anything is created.
        with pytest.raises(PodioNotFoundError):
            await podio.items.create(app_id, fields={"title": "x"}, file_ids=[999_999_999])
