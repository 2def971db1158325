"""Staging inputs and outputs through S3 on the emulator (real HTTP, botocore-validated)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.download import download_outputs
from batchmagic.aws.staging import (
    RunLocation,
    check_bucket,
    delete_prefix,
    list_keys,
    upload,
)
from batchmagic.errors import ConfigurationError, StagingError
from batchmagic.run.inputs import plan_inputs

# --- RunLocation -------------------------------------------------------------------------------


def test_run_location_layout() -> None:
    loc = RunLocation("bkt", "batchmagic/alice/20261127-201500-ab12cd")
    assert loc.in_prefix == "batchmagic/alice/20261127-201500-ab12cd/in/"
    assert loc.out_prefix == "batchmagic/alice/20261127-201500-ab12cd/out/"
    assert loc.in_uri == "s3://bkt/batchmagic/alice/20261127-201500-ab12cd/in/"
    assert loc.out_uri == "s3://bkt/batchmagic/alice/20261127-201500-ab12cd/out/"
    assert loc.run_id == "20261127-201500-ab12cd"


def test_run_location_new_is_unique_and_sortable() -> None:
    runs = [RunLocation.new("bkt", "/batchmagic/", "alice") for _ in range(50)]
    assert len({r.run_prefix for r in runs}) == 50
    first = runs[0].run_prefix
    assert first.startswith("batchmagic/alice/")
    run_id = first.rsplit("/", 1)[1]
    date, clock, suffix = run_id.split("-")
    assert len(date) == 8 and len(clock) == 6 and len(suffix) == 6
    assert RunLocation.new("bkt", "", "bob").run_prefix.startswith("bob/")


# --- plan_inputs -------------------------------------------------------------------------------


def _tree(root: Path, files: list[str]) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)


def test_plan_files_dirs_and_globs(tmp_path: Path) -> None:
    _tree(tmp_path, ["a.csv", "b.txt", "data/x.csv", "data/sub/y.csv", "data/sub/z.txt"])
    plan = plan_inputs(["a.csv", "data"], tmp_path)
    assert [k for _, k in plan] == ["a.csv", "data/sub/y.csv", "data/sub/z.txt", "data/x.csv"]
    assert all(p.is_absolute() and p.is_file() for p, _ in plan)

    plan = plan_inputs(["**/*.csv"], tmp_path)
    assert sorted(k for _, k in plan) == ["a.csv", "data/sub/y.csv", "data/x.csv"]

    # A file named twice (directly and through its directory) is staged once.
    plan = plan_inputs(["data/x.csv", "data/*.csv", "data"], tmp_path)
    assert sorted(k for _, k in plan) == ["data/sub/y.csv", "data/sub/z.txt", "data/x.csv"]


def test_plan_outside_base_dir_keeps_layout_from_parent(tmp_path: Path) -> None:
    base, other = tmp_path / "nb", tmp_path / "data" / "x"
    base.mkdir()
    _tree(other, ["y.csv", "deep/z.csv"])
    assert [k for _, k in plan_inputs([str(other / "y.csv")], base)] == ["y.csv"]
    assert sorted(k for _, k in plan_inputs([str(other)], base)) == ["x/deep/z.csv", "x/y.csv"]
    assert sorted(k for _, k in plan_inputs(["../data/x/**/*.csv"], base)) == [
        "deep/z.csv", "y.csv"]


def test_plan_missing_and_empty_glob_name_the_pattern(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"nope\.csv"):
        plan_inputs(["nope.csv"], tmp_path)
    with pytest.raises(ConfigurationError, match=r"\*\.parquet"):
        plan_inputs(["*.parquet"], tmp_path)


def test_plan_refuses_reserved_and_duplicate_keys(tmp_path: Path) -> None:
    _tree(tmp_path, [".batchmagic/cell.py", "one/y.csv", "two/y.csv"])
    with pytest.raises(ConfigurationError, match="reserves"):
        plan_inputs([".batchmagic"], tmp_path)
    with pytest.raises(ConfigurationError, match=r"'y\.csv'"):
        plan_inputs([str(tmp_path / "one/y.csv"), str(tmp_path / "two/y.csv")], tmp_path / "one")


# --- upload / download / delete ----------------------------------------------------------------


def test_upload_many_files_and_a_blob(clients: AwsClients, location: RunLocation,
                                      tmp_path: Path) -> None:
    names = [f"d{i % 5}/f{i:02d}.txt" for i in range(50)]
    _tree(tmp_path, names)
    plan = plan_inputs(["d0", "d1", "d2", "d3", "d4"], tmp_path)
    sent = upload(clients, location, plan, {".batchmagic/cell.py": b"print(1)\n"})
    expected = sum(len(n) for n in names) + len(b"print(1)\n")
    assert sent == expected
    keys = dict(list_keys(clients, location.bucket, location.in_prefix))
    assert len(keys) == 51
    assert keys[location.in_prefix + ".batchmagic/cell.py"] == 9
    body = clients.s3.get_object(Bucket=location.bucket, Key=location.in_prefix + names[7])
    assert body["Body"].read() == names[7].encode()


def test_upload_to_missing_bucket_names_the_file(clients: AwsClients, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    loc = RunLocation.new("no-such-bucket-here", "p", "u")
    with pytest.raises(StagingError, match=r"a\.txt.*NoSuchBucket"):
        upload(clients, loc, [(tmp_path / "a.txt", "a.txt")], {})


def _put(clients: AwsClients, loc: RunLocation, key: str, body: bytes) -> None:
    clients.s3.put_object(Bucket=loc.bucket, Key=loc.out_prefix + key, Body=body)


def test_download_maps_outputs_and_keeps_internal_in_memory(
    clients: AwsClients, location: RunLocation, tmp_path: Path
) -> None:
    _put(clients, location, "model/weights.bin", b"w" * 1000)
    _put(clients, location, ".outputs/report.html", b"<html/>")
    _put(clients, location, "report.html", b"loses to .outputs/")
    _put(clients, location, ".outputs/plots/a.png", b"png")
    _put(clients, location, ".batchmagic/result.json", b'{"ok": true}')
    _put(clients, location, ".batchmagic/pull.pkl", b"\x80\x04N.")
    _put(clients, location, "emptydir/", b"")
    out = tmp_path / "out"
    result = download_outputs(clients, location, out)
    assert result.files == sorted([out / "model/weights.bin", out / "report.html",
                                   out / "plots/a.png"])
    assert (out / "report.html").read_bytes() == b"<html/>"
    assert (out / "model/weights.bin").read_bytes() == b"w" * 1000
    assert result.internal == {".batchmagic/result.json": b'{"ok": true}',
                               ".batchmagic/pull.pkl": b"\x80\x04N."}
    assert not (out / ".batchmagic").exists()
    assert result.bytes == 1000 + 7 + 3 + 12 + 4
    leftovers = [p for p in out.rglob("*") if p.is_file() and p not in result.files]
    assert leftovers == []  # no temp files left behind


def test_download_replaces_existing_files(clients: AwsClients, location: RunLocation,
                                          tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old")
    _put(clients, location, "a.txt", b"new")
    download_outputs(clients, location, tmp_path)
    assert (tmp_path / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


@pytest.mark.parametrize("bad", ["../escape.txt", "sub/../../escape.txt", ".outputs/../../x"])
def test_an_escaping_key_is_skipped_and_the_others_arrive(
    clients: AwsClients, location: RunLocation, tmp_path: Path, bad: str
) -> None:
    _put(clients, location, "fine.txt", b"fine")
    _put(clients, location, ".batchmagic/result.json", b'{"ok": true}')
    _put(clients, location, bad, b"evil")
    out = tmp_path / "out"
    out.mkdir()
    result = download_outputs(clients, location, out)
    assert result.files == [out / "fine.txt"]
    assert result.internal == {".batchmagic/result.json": b'{"ok": true}'}
    assert [(key.rsplit("/out/", 1)[1], why) for key, why in result.skipped] == [
        (bad, f"it would be written outside {out}")]
    assert sorted(tmp_path.rglob("*")) == [out, out / "fine.txt"]


def test_a_symlink_out_of_the_output_dir_is_never_followed(
    clients: AwsClients, location: RunLocation, tmp_path: Path
) -> None:
    outside, out = tmp_path / "outside", tmp_path / "out"
    outside.mkdir()
    out.mkdir()
    os.symlink(outside, out / "link")
    _put(clients, location, "link/passwd", b"evil")
    _put(clients, location, "kept.txt", b"kept")
    result = download_outputs(clients, location, out)
    assert list(outside.iterdir()) == []
    assert result.files == [out / "kept.txt"]
    assert [why for _, why in result.skipped] == [
        f"a symbolic link in {out} would take it outside"]


def test_a_file_that_is_a_symlink_out_of_the_output_dir_is_skipped(
    clients: AwsClients, location: RunLocation, tmp_path: Path
) -> None:
    outside, out = tmp_path / "outside.txt", tmp_path / "out"
    outside.write_bytes(b"the user's own")
    (out / "sub").mkdir(parents=True)
    os.symlink(outside, out / "sub" / "result.txt")
    os.symlink(out / "sub", out / "inside")  # a link that stays inside is fine
    _put(clients, location, "sub/result.txt", b"evil")
    _put(clients, location, "sub/other.txt", b"other")
    _put(clients, location, "inside/third.txt", b"third")
    result = download_outputs(clients, location, out)
    assert outside.read_bytes() == b"the user's own"
    assert result.files == [out / "inside" / "third.txt", out / "sub" / "other.txt"]
    assert (out / "sub" / "third.txt").read_bytes() == b"third"
    assert [(key.rsplit("/", 2)[-2:], why) for key, why in result.skipped] == [
        (["sub", "result.txt"], f"a symbolic link in {out} would take it outside")]


def test_a_file_directory_clash_skips_one_key(clients: AwsClients, location: RunLocation,
                                              tmp_path: Path) -> None:
    _put(clients, location, "a", b"file")
    _put(clients, location, "a/b", b"file below it")
    out = tmp_path / "out"
    result = download_outputs(clients, location, out)
    assert result.files == [out / "a"]
    assert [(k.rsplit("/out/", 1)[1], w) for k, w in result.skipped] == [
        ("a/b", f"{location.out_prefix}a is a file where this needs a directory")]


def test_a_name_too_long_is_skipped_with_its_reason(clients: AwsClients, location: RunLocation,
                                                   tmp_path: Path) -> None:
    _put(clients, location, "x" * 300 + ".txt", b"long")
    _put(clients, location, "short.txt", b"short")
    result = download_outputs(clients, location, tmp_path)
    assert result.files == [tmp_path / "short.txt"]
    assert [why for _, why in result.skipped] == ["a part of its name is longer than 255 bytes"]


def test_a_stopped_download_leaves_no_partial_file(clients: AwsClients, location: RunLocation,
                                                   tmp_path: Path) -> None:
    for i in range(40):
        _put(clients, location, f"f{i}.bin", os.urandom(256 * 1024))
    stop = threading.Event()
    stop.set()  # Ctrl-C came before the first byte
    result = download_outputs(clients, location, tmp_path / "out", stop=stop)
    assert result.stopped
    left = [p.name for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert sorted(left) == sorted(p.name for p in result.files)
    assert not [name for name in left if name.endswith(".part") or ".part." in name]


def test_download_of_empty_out_is_empty(clients: AwsClients, location: RunLocation,
                                        tmp_path: Path) -> None:
    result = download_outputs(clients, location, tmp_path)
    assert result.files == [] and result.internal == {} and result.bytes == 0


def test_delete_prefix_removes_only_the_run(clients: AwsClients, location: RunLocation) -> None:
    upload(clients, location, [], {f"k{i}": b"" for i in range(23)})
    _put(clients, location, "x", b"x")
    sibling = location.run_prefix + "-other/in/keep"
    clients.s3.put_object(Bucket=location.bucket, Key=sibling, Body=b"")
    assert delete_prefix(clients, location, batch=10) == 24  # three DeleteObjects calls
    remaining = [k for k, _ in list_keys(clients, location.bucket, "")]
    assert remaining == [sibling]


def test_check_bucket(clients: AwsClients, bucket: str) -> None:
    check_bucket(clients, bucket)
    with pytest.raises(ConfigurationError, match=r"batchmagic setup.*--bucket"):
        check_bucket(clients, "missing-bucket-xyz")
