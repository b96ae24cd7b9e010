"""Reading back the item ids an interrupted export wrote (a resume by offset pages needs
them): only the bytes the checkpoint describes, lines across read chunks, CSV cells with
line breaks, the Excel-safe variant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podiokit.export import _written
from podiokit.export._written import written_ids


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_written, "_CHUNK", 7)  # every line crosses a chunk


def test_jsonl_ids_up_to_the_checkpoints_length(tmp_path: Path) -> None:
    lines = [json.dumps({"item_id": i, "title": "x" * i}).encode() + b"\n" for i in (5, 17, 42)]
    part = tmp_path / "items.jsonl.part"
    part.write_bytes(b"".join(lines) + b'{"item_id": 99, "tit')  # a torn write after it
    assert written_ids(part, "jsonl", len(b"".join(lines))) == {5, 17, 42}


def test_csv_ids_with_line_breaks_in_cells_and_the_bom(tmp_path: Path) -> None:
    rows = 'app_id,item_id,app_item_id,title\r\n1,11,1,"two\r\nlines"\r\n1,12,2,plain\r\n'
    data = ("\ufeff" + rows).encode()
    part = tmp_path / "items.csv.part"
    part.write_bytes(data + b"1,13,3,cut")
    assert written_ids(part, "csv", len(data)) == {11, 12}


def test_an_empty_file_holds_no_ids(tmp_path: Path) -> None:
    part = tmp_path / "items.csv.part"
    part.write_bytes(b"")
    assert written_ids(part, "csv", 0) == set()
    assert written_ids(part, "jsonl", 0) == set()


def test_an_unknown_format_is_named(tmp_path: Path) -> None:
    part = tmp_path / "x.part"
    part.write_bytes(b"")
    with pytest.raises(ValueError, match="'xml'"):
        written_ids(part, "xml", 0)
