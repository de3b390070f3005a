"""Manifests: every format reads the same clips, and validation lists every problem at once."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vmafx.corpus import readers
from vmafx.corpus.manifest import SHOWN_PROBLEMS, load_manifest
from vmafx.errors import ManifestError, MissingExtraError

COLUMNS = ["id", "distorted", "reference", "mos", "source"]


def touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"\0")


def write_manifest(folder: Path, fmt: str, rows: list[dict[str, object]]) -> Path:
    """The same rows as CSV (empty cell for None), JSONL or Parquet."""
    path = folder / f"clips.{fmt}"
    columns = list(dict.fromkeys(k for row in rows for k in row))
    if fmt == "csv":
        lines = [",".join(columns)]
        lines += [",".join("" if r.get(c) is None else str(r[c]) for c in columns) for r in rows]
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def good_rows() -> list[dict[str, object]]:
    return [
        {"id": "a", "distorted": "a.mp4", "reference": "ref.y4m", "mos": 3.5, "source": "x"},
        {"id": "b", "distorted": "b.mp4", "reference": "ref.y4m", "mos": 4.25, "source": "y"},
        {"id": "c", "distorted": "c.mp4", "reference": None, "mos": 1.0, "source": "z"},
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_every_format_yields_the_same_clips_metadata_and_types(tmp_path, fmt):
    touch(tmp_path, "a.mp4", "b.mp4", "c.mp4", "ref.y4m")
    manifest = load_manifest(write_manifest(tmp_path, fmt, good_rows()))
    assert manifest.format == fmt
    assert [c.id for c in manifest.clips] == ["a", "b", "c"]
    assert manifest.metadata_columns == (("mos", "float"), ("source", "string"))
    assert manifest.clips[1].metadata == (4.25, "y")
    assert manifest.clips[0].distorted_path == str(tmp_path / "a.mp4")
    assert manifest.clips[0].reference_path == str(tmp_path / "ref.y4m")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_an_empty_reference_makes_a_no_reference_clip(tmp_path, fmt):
    touch(tmp_path, "a.mp4", "b.mp4", "c.mp4", "ref.y4m")
    manifest = load_manifest(write_manifest(tmp_path, fmt, good_rows()))
    assert [c.no_reference for c in manifest.clips] == [False, False, True]
    assert manifest.no_reference_count == 1


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_missing_columns_are_named_with_the_columns_found_and_a_rename_hint(tmp_path, fmt):
    rows = [{"ID": "a", "dis": "a.mp4", "reference": "r.mp4"}]
    with pytest.raises(ManifestError) as caught:
        load_manifest(write_manifest(tmp_path, fmt, rows))
    text = str(caught.value)
    assert "missing column(s) 'id', 'distorted'" in text
    assert "'ID', 'dis', 'reference'" in text
    assert "rename 'ID' → 'id'" in text
    assert caught.value.exit_code == 3


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_duplicate_ids_missing_files_and_empty_cells_are_all_listed_at_once(tmp_path, fmt):
    touch(tmp_path, "a.mp4", "ref.y4m")
    rows = [
        {"id": "a", "distorted": "a.mp4", "reference": "ref.y4m"},
        {"id": "a", "distorted": "a.mp4", "reference": "ref.y4m"},
        {"id": "b", "distorted": "gone.mp4", "reference": "ref.y4m"},
        {"id": "c", "distorted": "a.mp4", "reference": "lost_ref.y4m"},
        {"id": None, "distorted": "a.mp4", "reference": "ref.y4m"},
        {"id": "e", "distorted": None, "reference": "ref.y4m"},
    ]
    with pytest.raises(ManifestError) as caught:
        load_manifest(write_manifest(tmp_path, fmt, rows))
    problems = caught.value.problems
    assert len(problems) == 5, problems
    text = "\n".join(problems)
    assert "id 'a': appears 2 times (rows 1, 2)" in text
    assert "row 3 (id 'b'): the distorted file gone.mp4" in text and "does not exist" in text
    assert "row 4 (id 'c'): the reference file lost_ref.y4m" in text
    assert "row 5: the id is empty" in text
    assert "row 6 (id 'e'): the distorted path is empty" in text
    assert all(p in str(caught.value) for p in problems)


def test_unreadable_csv_rows_are_listed_with_their_line_and_the_rest_still_checked(tmp_path):
    touch(tmp_path, "a.mp4", "r.y4m")
    path = tmp_path / "clips.csv"
    path.write_text(
        "id,distorted,reference\na,a.mp4,r.y4m\nb,b.mp4\nc,a.mp4,r.y4m,extra\nd,missing.mp4,r.y4m\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    text = "\n".join(caught.value.problems)
    assert "line 3: has 2 fields but the header has 3" in text
    assert "line 4: has 4 fields but the header has 3" in text
    assert "missing.mp4" in text


def test_unreadable_jsonl_lines_are_listed_with_their_line_number(tmp_path):
    touch(tmp_path, "a.mp4", "r.y4m")
    path = tmp_path / "clips.jsonl"
    good = json.dumps({"id": "a", "distorted": "a.mp4", "reference": "r.y4m"})
    path.write_text(f'{good}\n{{"id": "b", "distorted": \n[1, 2]\n\n{good}\n')
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    text = "\n".join(caught.value.problems)
    assert "line 2: not valid JSON" in text
    assert "line 3: a JSON list, not an object" in text
    assert "id 'a': appears 2 times" in text


def test_a_parquet_manifest_that_is_not_parquet_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "clips.parquet"
    path.write_bytes(b"PAR1 but not really")
    with pytest.raises(ManifestError, match="not a readable Parquet file"):
        load_manifest(path)


def test_an_unknown_extension_names_the_formats_vmafx_reads(tmp_path):
    path = tmp_path / "clips.xlsx"
    path.write_bytes(b"")
    with pytest.raises(ManifestError, match=r"\.csv, \.jsonl"):
        load_manifest(path)


def test_a_missing_manifest_is_an_error_naming_it(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifest(tmp_path / "nope.csv")


def test_an_empty_manifest_is_refused(tmp_path):
    path = tmp_path / "clips.csv"
    path.write_text("id,distorted,reference\n")
    with pytest.raises(ManifestError, match="no clips"):
        load_manifest(path)


def test_relative_paths_start_from_the_manifest_folder_or_the_given_root(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    touch(media, "a.mp4")
    (tmp_path / "lists").mkdir()
    path = tmp_path / "lists" / "clips.csv"
    path.write_text("id,distorted,reference\na,a.mp4,\n")
    with pytest.raises(ManifestError, match="a.mp4"):
        load_manifest(path)
    manifest = load_manifest(path, root=media)
    assert manifest.clips[0].distorted_path == str(media / "a.mp4")


def test_raw_yuv_clips_need_a_size_up_front(tmp_path):
    touch(tmp_path, "a.yuv", "r.yuv")
    path = tmp_path / "clips.csv"
    path.write_text("id,distorted,reference\na,a.yuv,r.yuv\n")
    with pytest.raises(ManifestError, match="raw YUV; give --width and --height"):
        load_manifest(path)
    assert load_manifest(path, raw_size_given=True).clips[0].id == "a"


def test_metadata_columns_that_clash_with_output_columns_are_refused(tmp_path):
    touch(tmp_path, "a.mp4")
    path = tmp_path / "clips.csv"
    path.write_text("id,distorted,reference,width,mos\na,a.mp4,,1,2\n")
    with pytest.raises(ManifestError, match="column 'width': clashes"):
        load_manifest(path, reserved={"width", "height"})


def test_nested_values_in_metadata_are_refused(tmp_path):
    touch(tmp_path, "a.mp4")
    path = tmp_path / "clips.jsonl"
    path.write_text(json.dumps({"id": "a", "distorted": "a.mp4", "reference": "", "tags": [1]}))
    with pytest.raises(ManifestError, match="column 'tags' holds a list"):
        load_manifest(path)


def test_csv_number_columns_become_numbers_but_codes_with_leading_zeros_stay_text(tmp_path):
    touch(tmp_path, "a.mp4", "b.mp4")
    path = tmp_path / "clips.csv"
    path.write_text(
        "id,distorted,reference,mos,frames,code\n7,a.mp4,,3.5,10,007\n8,b.mp4,,4,12,012\n"
    )
    manifest = load_manifest(path)
    assert manifest.metadata_columns == (("mos", "float"), ("frames", "int"), ("code", "string"))
    assert manifest.clips[0].metadata == (3.5, 10, "007")
    assert manifest.clips[0].id == "7"


def test_jsonl_keeps_its_own_types_and_numeric_ids_read_as_text(tmp_path):
    touch(tmp_path, "a.mp4")
    path = tmp_path / "clips.jsonl"
    path.write_text(json.dumps({"id": 7, "distorted": "a.mp4", "reference": None, "code": "007"}))
    manifest = load_manifest(path)
    assert manifest.clips[0].id == "7"
    assert manifest.metadata_columns == (("code", "string"),)


def test_thousands_of_problems_are_summarised_and_listed_in_full_in_a_file(tmp_path):
    path = tmp_path / "clips.csv"
    path.write_text("id,distorted,reference\n" + "".join(f"{i},m{i}.mp4,\n" for i in range(500)))
    problems_file = tmp_path / "problems.txt"
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, problems_file=problems_file)
    assert len(caught.value.problems) == 500
    assert f"and {500 - SHOWN_PROBLEMS} more, every one listed in {problems_file}" in str(
        caught.value
    )
    assert len(problems_file.read_text().splitlines()) == 500


def test_a_missing_pyarrow_fails_with_the_install_command(tmp_path, monkeypatch):
    real = importlib.import_module

    def no_pyarrow(name, *args):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_pyarrow)
    path = tmp_path / "clips.parquet"
    path.write_bytes(b"")
    with pytest.raises(MissingExtraError) as caught:
        readers.read_table(path)
    assert "pip install 'vmafx[corpus]'" in str(caught.value)


def test_an_id_with_a_line_break_is_refused(tmp_path):
    touch(tmp_path, "a.mp4")
    path = tmp_path / "clips.jsonl"
    path.write_text(json.dumps({"id": "a\nb", "distorted": "a.mp4", "reference": None}))
    with pytest.raises(ManifestError, match="contains a line break"):
        load_manifest(path)
