"""A virtual environment like a user's, for benchmarks that time fresh processes.

Start-up is part of what those benchmarks measure, and the dev venv is not what users run:

* podiokit is installed there editable, and with PYTHONDONTWRITEBYTECODE set (as on these
  machines) every process compiles podiokit's sources again (about 30 to 50 ms); pip compiles
  an installed wheel's bytecode once, at install time;
* the dev venv holds the test-only packages (trio among them, which httpcore imports when it
  can: about 65 to 100 ms), which `pip install 'podiokit[export]'` does not bring.

`user_python(extras, packages)` builds, once per checkout state, a venv under the temp dir
with `pip install '<this checkout>[extras]' packages` (a regular, non-editable install) and
returns its interpreter (and removes the ones built for older states). The build takes a
minute or less when pip's cache is warm.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _fingerprint(extras: Sequence[str], packages: Sequence[str]) -> str:
    """Changes when podiokit's sources, its metadata, the request or the Python change."""
    digest = hashlib.sha256()
    digest.update(repr((sorted(extras), sorted(packages), sys.version)).encode())
    for path in sorted([REPO / "pyproject.toml", *(REPO / "src").rglob("*.py")]):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def user_python(extras: Sequence[str], packages: Sequence[str] = ()) -> str:
    root = Path(tempfile.gettempdir()) / f"podiokit-bench-{_fingerprint(extras, packages)}"
    python = root / "bin" / "python"
    ready = root / ".ready"
    if not ready.exists():
        for stale in root.parent.glob("podiokit-bench-*"):  # built for an older checkout
            if stale != root:
                shutil.rmtree(stale, ignore_errors=True)
        print(f"building a user-like venv in {root} (podiokit[{','.join(extras)}])", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)], check=True)
        spec = f"{REPO}[{','.join(extras)}]" if extras else str(REPO)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             spec, *packages],
            check=True,
        )  # fmt: skip
        ready.touch()
    return str(python)
