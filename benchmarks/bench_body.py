"""Client CPU to receive one large body: podiokit's transport against httpx's and a raw socket.

The body is a 500-item filter page of the emulator (about 6.6 MB), served as fixed bytes by
benchmarks/_fixed_server.py in its own process (pinned to CPU 1; this client on CPU 0), so
the CPU counted (time.process_time of this process) is the client's alone. One call at a
time, each body read whole into memory, as the exporter does.

* `raw socket`: the best hand-written code: an asyncio socket, the request written by hand,
  the head split by hand, the body read with `recv_into` into a buffer of its length;
* `httpx`: `httpx.AsyncClient()` with its own transport (httpcore's pool, h11);
* `podiokit transport`: `httpx.AsyncClient(transport=PodioTransport())`, podiokit's default;
* `podiokit read_into`: the same transport, each body read whole into one buffer reused from
  call to call (`_transport.read_into`), as the exporter reads its pages.

Every variant runs once per round, in a shuffled order; the first round is discarded.
Reported: client CPU ms per body (median over rounds) and the median of the per-round ratios
to the raw socket.

Usage: `python benchmarks/bench_body.py [--calls 20] [--rounds 9]`
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from bench_typed import _free_port, _start_server

from podiokit._transport import PodioTransport, read_into
from podiokit.testing import Emulator

PROJECTS = 3002


def _page(path: Path) -> int:
    """A 500-item page of the emulator's Projects app, as it sends it, written to `path`."""
    emu = Emulator(items=500)

    async def fetch() -> bytes:
        creds = emu.credentials
        transport = httpx.ASGITransport(app=emu.app)
        async with httpx.AsyncClient(transport=transport, base_url=creds["api_url"]) as http:
            form = {"grant_type": "password", "username": creds["username"],
                    "password": creds["password"], "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"]}  # fmt: skip
            token = (await http.post("/oauth/token", data=form)).json()["access_token"]
            page = await http.post(
                f"/item/app/{PROJECTS}/filter/",
                json={"limit": 500, "sort_by": "app_item_id", "sort_desc": False},
                headers={"Authorization": f"OAuth2 {token}"},
            )
            return page.content

    body = asyncio.run(fetch())
    path.write_bytes(body)
    return len(body)


async def _raw_socket(port: int, calls: int) -> float:
    loop = asyncio.get_running_loop()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setblocking(False)
    request = f"GET /item/0 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()

    async def one() -> bytearray:
        await loop.sock_sendall(sock, request)
        head = b""
        while b"\r\n\r\n" not in head:
            head += await loop.sock_recv(sock, 65536)
        head, rest = head.split(b"\r\n\r\n", 1)
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = bytearray(length)
        body[: len(rest)] = rest
        view, got = memoryview(body), len(rest)
        while got < length:
            got += await loop.sock_recv_into(sock, view[got:])
        return body

    await one()
    started = time.process_time()
    for _ in range(calls):
        await one()
    spent = time.process_time() - started
    sock.close()
    return spent / calls


async def _client(client: httpx.AsyncClient, url: str, calls: int) -> float:
    async with client:
        await client.get(url)
        started = time.process_time()
        for _ in range(calls):
            await client.get(url)  # reads the body whole
        return (time.process_time() - started) / calls


async def _read_into(url: str, calls: int) -> float:
    buffer = bytearray()
    async with PodioTransport() as transport:

        async def one() -> None:
            response = await transport.handle_async_request(httpx.Request("GET", url))
            try:
                await read_into(response, buffer)
            finally:
                await response.aclose()

        await one()
        started = time.process_time()
        for _ in range(calls):
            await one()
        return (time.process_time() - started) / calls


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/item/0"
    variants: dict[str, Callable[[], Awaitable[float]]] = {
        "raw socket": lambda: _raw_socket(port, args.calls),
        "httpx": lambda: _client(httpx.AsyncClient(), url, args.calls),
        "podiokit transport": lambda: _client(
            httpx.AsyncClient(transport=PodioTransport()), url, args.calls
        ),
        "podiokit read_into": lambda: _read_into(url, args.calls),
    }
    with tempfile.TemporaryDirectory() as tmp:
        body = Path(tmp) / "page.json"
        size = _page(body)
        server = _start_server(port, [body])
        try:
            results: dict[str, list[float]] = {name: [] for name in variants}
            rng = random.Random(11)
            for round_ in range(args.rounds + 1):
                order = list(variants)
                rng.shuffle(order)
                for name in order:
                    spent = asyncio.run(variants[name]())
                    if round_:
                        results[name].append(spent)
        finally:
            server.terminate()
            server.wait()
    print(f"one {size / 1e6:.1f} MB body per call, {args.calls} calls x {args.rounds} rounds")
    print("| variant | client CPU ms per body | vs raw socket |")
    print("|---|---|---|")
    raw = results["raw socket"]
    for name, spent in results.items():
        ratio = statistics.median(s / r for s, r in zip(spent, raw, strict=True))
        print(f"| {name} | {statistics.median(spent) * 1000:.2f} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
