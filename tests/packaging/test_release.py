"""A release is refused when its tag, the package version and the changelog disagree.

The version is read as `nox -s release_check` reads it (noxfile.package_version: a regex over
src/podiokit/_version.py, else pyproject.toml), so these tests hold before and after the
version moves into _version.py.
"""

from __future__ import annotations

import importlib.util
import pathlib
import shutil
import subprocess
from types import ModuleType

import pytest

import podiokit

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _noxfile() -> ModuleType:
    pytest.importorskip("nox")
    spec = importlib.util.spec_from_file_location("podiokit_noxfile", ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


noxfile = _noxfile()


def test_the_changelog_top_release_is_the_package_version() -> None:
    assert noxfile.changelog_version() == noxfile.package_version()


def test_the_version_read_from_the_files_is_the_imported_one() -> None:
    assert noxfile.package_version() == podiokit.__version__


@pytest.mark.parametrize("tag", ["v0.1.0", "0.1.0"])
def test_a_tag_equal_to_the_version_is_accepted(tag: str) -> None:
    assert noxfile.tag_problem(tag, "0.1.0") is None


@pytest.mark.parametrize("tag", ["v0.2.0", "v0.1.1", "v0.1.0rc1", "v0.1", "release", "main"])
def test_a_tag_that_differs_from_the_version_is_refused(tag: str) -> None:
    problem = noxfile.tag_problem(tag, "0.1.0")
    assert problem is not None
    assert repr(tag) in problem and "v0.1.0" in problem


def test_the_version_comes_from_version_py_else_pyproject(tmp_path: pathlib.Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "podiokit"\nversion = "0.3.0"\n')
    assert noxfile.package_version(tmp_path) == "0.3.0"
    (tmp_path / "src" / "podiokit").mkdir(parents=True)
    (tmp_path / "src" / "podiokit" / "_version.py").write_text('__version__ = "0.4.0"\n')
    assert noxfile.package_version(tmp_path) == "0.4.0"


def test_the_changelog_version_skips_unreleased(tmp_path: pathlib.Path) -> None:
    (tmp_path / "CHANGELOG.md").write_text(
        "# Changelog\n\n## [Unreleased]\n\n- next\n\n## [0.2.0] - 2027-01-01\n\n## [0.1.0]\n"
    )
    assert noxfile.changelog_version(tmp_path) == "0.2.0"


def test_the_tag_is_the_argument_then_github_then_the_tag_on_head(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    monkeypatch.delenv("GITHUB_REF_NAME", raising=False)
    monkeypatch.delenv("GITHUB_REF_TYPE", raising=False)

    def run(*args: str) -> None:
        subprocess.run([git, *args], cwd=tmp_path, check=True, capture_output=True)

    run("init", "-q")
    run("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q",
        "--allow-empty", "-m", "first")  # fmt: skip
    assert noxfile.release_tag([], tmp_path) is None  # HEAD carries no tag
    run("tag", "v0.1.0")
    assert noxfile.release_tag([], tmp_path) == "v0.1.0"
    monkeypatch.setenv("GITHUB_REF_NAME", "v0.2.0")
    assert noxfile.release_tag([], tmp_path) == "v0.2.0"
    monkeypatch.setenv("GITHUB_REF_TYPE", "branch")  # a branch build names the branch
    assert noxfile.release_tag([], tmp_path) == "v0.1.0"
    assert noxfile.release_tag(["v0.3.0"], tmp_path) == "v0.3.0"
