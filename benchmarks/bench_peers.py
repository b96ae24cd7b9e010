"""The ways Python users export a Podio app today, against `podiokit.export`, side by side.

The emulator runs as `podiokit emulator --latency 50` (50 ms added to every answer, like a
distant API) in its own process, pinned to CPU 1 when there are two; each export runs in a
fresh client process pinned to CPU 0. Every side exports the Projects app (`--items` items)
to JSONL, and every run is checked: one line per item, each item exactly once.

* `requests loop`: the offset loop people write: a `requests.Session`, `POST
  /item/app/{id}/filter/` with `limit` 500 and `offset`, signing in again and retrying the
  page on a 401, `json.dumps` per item.
* `turbopod`: uwekamper/turbopod's `iterate_resource` (its README's way to read a whole app,
  with `create_app_auth_session(..., robust=True)`), routed to the emulator: its app sign-in
  URL (`podio_auth.APP_AUTH_TOKEN_URL`, hard-coded to podio.com) is pointed at the emulator,
  `OAUTHLIB_INSECURE_TRANSPORT=1` lets requests-oauthlib send the token over the emulator's
  plain http, and the filter URL is the emulator's. It collects every item in a list, then
  the list is written as JSONL. Measured only when turbopod is installed (it is no
  dependency of podiokit); otherwise "turbopod not installed, skipped".
* `podiokit`: `podiokit.export.export(...)` to JSONL at its default concurrency.
* `podiokit [aiohttp]` (with `--aiohttp`): the same with `Podio(...,
  transport=podiokit.transports.aiohttp_transport())`; shown beside the others, the verdict
  stays on the default transport.

Every exporter runs in a user-like venv (benchmarks/_user_env.py: this checkout installed
with `pip install '.[export]' requests`, no test packages, bytecode compiled at install), built
once per checkout state; `--here` runs them with this interpreter instead. Start-up is part of
each side's time, so the environment matters: in the dev venv podiokit's sources are compiled
again in every process, and httpcore imports trio (a test dependency) when it can.

Rounds run the sides in a shuffled order; the speed-up of a round is the faster peer's wall
time over podiokit's in that round, and the figure is the median over the rounds (ratios,
not absolute timings: the machine is shared). The script exits 1 when that median is below
`--target` (8x).

Usage: `python benchmarks/bench_peers.py [--items 10000] [--rounds 5] [--latency 50]
       [--target 8] [--aiohttp] [--here] [--with PACKAGE ...]`
(`--with` adds a package to the user-like venv, e.g. turbopod from a local checkout.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx

PROJECTS = 3002
FILTER_ROUTE = "POST /item/app/{app_id}/filter/"
PAGE = 500


# -- the three exporters (each run in a child process) -----------------------------------


def requests_loop(creds: dict[str, Any], out: Path) -> None:
    import requests

    api, app = creds["api_url"], creds["apps"][0]
    session = requests.Session()

    def sign_in() -> str:
        form = {"grant_type": "app", "app_id": app["app_id"], "app_token": app["app_token"],
                "client_id": creds["client_id"], "client_secret": creds["client_secret"]}  # fmt: skip
        response = session.post(f"{api}/oauth/token", data=form)
        response.raise_for_status()
        return str(response.json()["access_token"])

    token = sign_in()
    offset = 0
    with open(out, "w") as f:
        while True:
            response = session.post(
                f"{api}/item/app/{app['app_id']}/filter/",
                json={"limit": PAGE, "offset": offset},
                headers={"Authorization": f"OAuth2 {token}"},
            )
            if response.status_code == 401:  # the token expired: sign in again, same page
                token = sign_in()
                continue
            response.raise_for_status()
            items = response.json()["items"]
            for item in items:
                f.write(json.dumps(item) + "\n")
            if len(items) < PAGE:
                break
            offset += PAGE


def turbopod(creds: dict[str, Any], out: Path) -> None:
    # requests-oauthlib refuses to send a token over http; the emulator speaks http.
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    from turbopod import podio_auth
    from turbopod.helpers import iterate_resource
    from turbopod.session import create_app_auth_session

    api, app = creds["api_url"], creds["apps"][0]
    podio_auth.APP_AUTH_TOKEN_URL = (
        f"{api}/oauth/token"  # read at call time; podio.com's by default
    )
    client = create_app_auth_session(
        creds["client_id"], creds["client_secret"], app["app_id"], app["app_token"], robust=True
    )
    items = iterate_resource(client, f"{api}/item/app/{app['app_id']}/filter/", "POST", limit=PAGE)
    with open(out, "w") as f:
        for item in items:
            f.write(json.dumps(item) + "\n")


def podiokit(creds: dict[str, Any], out: Path, *, aiohttp: bool = False) -> None:
    import anyio

    from podiokit import Podio
    from podiokit.export import export

    app = creds["apps"][0]

    async def run() -> None:
        options: dict[str, Any] = {}
        if aiohttp:
            from podiokit.transports import aiohttp_transport

            options["transport"] = aiohttp_transport()
        async with Podio(
            creds["client_id"], creds["client_secret"], api_url=creds["api_url"], **options
        ) as p:
            await export(p, [app["app_id"]], out, app_tokens={app["app_id"]: app["app_token"]})

    anyio.run(run)


def podiokit_aiohttp(creds: dict[str, Any], out: Path) -> None:
    podiokit(creds, out, aiohttp=True)


SIDES: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "requests loop": requests_loop,
    "turbopod": turbopod,
    "podiokit": podiokit,
    "podiokit [aiohttp]": podiokit_aiohttp,
}
PEERS = ("requests loop", "turbopod")


def child(side: str, creds_json: str, out: str) -> None:
    started = time.perf_counter()
    SIDES[side](json.loads(creds_json), Path(out))
    wall = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "cpu": time.process_time(), "rss_mb": rss_mb}))


# -- the driver ------------------------------------------------------------------------


def _pin(cpu: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu)]
    return []


def _start_emulator(items: int, latency: float) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    argv = [*_pin(1), sys.executable, "-m", "podiokit.cli", "emulator", "--port", "0",
            "--items", str(items), "--rate-limit", "10000000", "--latency", str(latency)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the emulator did not start")
    return proc, json.loads(line)


def _filter_calls(creds: dict[str, Any]) -> int:
    stats = httpx.get(creds["control_url"] + "/stats").json()
    return int(stats["routes"].get(FILTER_ROUTE, 0))


def _check(out: Path, items: int, side: str) -> None:
    ids = [json.loads(line)["item_id"] for line in out.open("rb")]
    if len(ids) != items or len(set(ids)) != items:
        raise SystemExit(f"{side}: {len(ids)} lines, {len(set(ids))} distinct, expected {items}")


def _server_cpu(pid: int) -> float:
    """CPU seconds the emulator process has used (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(
    side: str, creds: dict[str, Any], out: Path, items: int, server: int, python: str
) -> dict[str, Any]:
    before, server_cpu = _filter_calls(creds), _server_cpu(server)
    argv = [*_pin(0), python, __file__, "--child", side, json.dumps(creds), str(out)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{side} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    result["calls"] = _filter_calls(creds) - before
    result["server_cpu"] = _server_cpu(server) - server_cpu
    _check(out, items, side)
    out.unlink()
    return result


def _importable(python: str, module: str) -> bool:
    if python == sys.executable:
        return find_spec(module) is not None
    check = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([python, "-c", check]).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency", type=float, default=50.0, help="ms added to every answer")
    parser.add_argument("--target", type=float, default=8.0, help="min speed-up over the peers")
    parser.add_argument(
        "--aiohttp",
        action="store_true",
        help="also measure podiokit over podiokit.transports.aiohttp_transport()",
    )
    parser.add_argument(
        "--here", action="store_true", help="run the exporters with this interpreter"
    )
    parser.add_argument(
        "--with", dest="packages", action="append", default=[], metavar="PACKAGE",
        help="also install PACKAGE in the user-like venv (e.g. a turbopod checkout)",
    )  # fmt: skip
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if args.here:
        python = sys.executable
    else:
        from _user_env import user_python

        extras = ["export", "aiohttp"] if args.aiohttp else ["export"]
        python = user_python(extras, ["requests", *args.packages])
    sides = [side for side in SIDES if side != "podiokit [aiohttp]"]
    if args.aiohttp:
        if not _importable(python, "httpx_aiohttp"):
            print("httpx-aiohttp not installed: podiokit [aiohttp] skipped")
        else:
            sides.append("podiokit [aiohttp]")
    if not _importable(python, "turbopod"):
        print("turbopod not installed, skipped")
        sides.remove("turbopod")
    proc, creds = _start_emulator(args.items, args.latency)
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "export.jsonl"
            _run("podiokit", creds, out, args.items, proc.pid, python)  # warms the emulator
            rng = random.Random(9)
            for _ in range(args.rounds):
                order = sides[:]
                rng.shuffle(order)
                for side in order:
                    results[side].append(_run(side, creds, out, args.items, proc.pid, python))
    finally:
        proc.terminate()
        proc.wait()
    peers = [side for side in PEERS if side in results]
    speedups = sorted(
        min(results[p][r]["wall"] for p in peers) / results["podiokit"][r]["wall"]
        for r in range(args.rounds)
    )
    speedup = statistics.median(speedups)
    where = "this interpreter" if args.here else "a user-like venv"
    print(
        f"{args.items:,} items, {args.latency:g} ms latency, {args.rounds} shuffled rounds, exporters in {where}"
    )
    print("| exporter | wall s median (min-max) | podiokit faster by | client CPU s "
          "| emulator CPU s | filter calls | peak RSS MB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    podiokit_walls = [r["wall"] for r in results["podiokit"]]
    for side, runs in results.items():
        walls = [r["wall"] for r in runs]
        ratios = [w / p for w, p in zip(walls, podiokit_walls, strict=True)]
        print(
            f"| {side} | {statistics.median(walls):.2f} ({min(walls):.2f}-{max(walls):.2f}) "
            f"| {statistics.median(ratios):.1f}x | {statistics.median(r['cpu'] for r in runs):.2f} "
            f"| {statistics.median(r['server_cpu'] for r in runs):.2f} "
            f"| {statistics.median(r['calls'] for r in runs):.0f} "
            f"| {statistics.median(r['rss_mb'] for r in runs):.0f} |"
        )
    verdict = "ok" if speedup >= args.target else "FAIL"
    print(
        f"speed-up over the faster peer: median {speedup:.1f}x (rounds "
        f"{min(speedups):.1f}-{max(speedups):.1f}); target {args.target:g}x: {verdict}"
    )
    return 0 if speedup >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
