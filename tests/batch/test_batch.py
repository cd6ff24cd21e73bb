"""Batches on dask.distributed: outputs, provenance manifest, resuming, bad inputs, CLI."""

import json
import os
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
tifffile = pytest.importorskip("tifffile")

from napari_mend.batch.manifest import manifest_bundles, read_manifest  # noqa: E402
from napari_mend.batch.plan import BatchError, plan_jobs  # noqa: E402
from napari_mend.batch.run import run_batch  # noqa: E402
from napari_mend.cli.main import main  # noqa: E402
from napari_mend.io.bundle import find_bundles, read_bundle  # noqa: E402
from napari_mend.io.images import open_lazy  # noqa: E402
from napari_mend.restore import restore  # noqa: E402

OPTIONS = {"detector": "classical", "fill": "telea", "processes": False, "workers": 2}


def _bundle_arrays(folder):
    out = {}
    for path in find_bundles(folder):
        b = read_bundle(path)
        prov = {k: v for k, v in b.provenance.items() if k != "created"}
        out[path.name] = (b.original, b.labels, b.mended, prov)
    return out


def _assert_same_outputs(a, b):
    assert a.keys() == b.keys()
    for name in a:
        for x, y in zip(a[name][:3], b[name][:3], strict=True):
            np.testing.assert_array_equal(x, y)
        assert a[name][3] == b[name][3]


def test_batch_mends_every_file_and_records_provenance(archive):
    out = archive / "mended"  # inside the input folder: never taken as input
    seen = []
    result = run_batch([str(archive)], out, progress=lambda d, t: seen.append((d, t)), **OPTIONS)
    assert not result.ok
    assert result.counts == {"done": 3, "skipped": 0, "failed": 1, "total": 4}
    assert seen[-1] == (4, 4)
    assert [p.name for p in result.ignored] == ["notes.txt"]
    manifest = read_manifest(out)
    assert manifest == result.manifest and manifest["finished"] is not None
    by_name = {e["output"]: e for e in manifest["files"]}
    assert set(by_name) == {"broken.mend", "height.mend", "photo.mend", "sub__film.mend"}
    assert by_name["broken.mend"]["status"] == "failed"
    assert "broken.png" in by_name["broken.mend"]["error"]
    assert not (out / "broken.mend").exists()
    for name in ("height.mend", "photo.mend", "sub__film.mend"):
        entry = by_name[name]
        bundle = read_bundle(out / name)
        prov = entry["provenance"]
        assert bundle.provenance == prov
        assert prov["method"] == "classical+telea" and prov["operation"] == "restore"
        assert prov["input"]["dtype"] == bundle.original.dtype.name
        assert prov["mask"]["changed_pixels"] == int(np.count_nonzero(bundle.labels))
        # the bundle holds exactly what restore() gives for that input
        mended, labels = restore(bundle.original, channel_axis=bundle.channel_axis,
                                 detector="classical", fill="telea")
        np.testing.assert_array_equal(bundle.mended, mended)
        np.testing.assert_array_equal(bundle.labels, labels)
        outside = labels == 0
        assert np.array_equal(bundle.mended[outside], bundle.original[outside])
    assert np.count_nonzero(read_bundle(out / "photo.mend").labels) > 20
    assert manifest_bundles(out) == [out / n for n in ("height.mend", "photo.mend",
                                                       "sub__film.mend")]
    assert "FAILED" in (out / "batch.log").read_text()
    # the manifest opens in napari as original / defects / mended per file
    from napari_mend._reader import get_reader

    layers = get_reader(str(out / "manifest.json"))(str(out / "manifest.json"))
    assert [(kw["name"], kind) for _, kw, kind in layers[:3]] == [
        ("height", "image"), ("height defects", "labels"), ("height mended", "image")]
    assert len(layers) == 9
    assert layers[2][1]["metadata"]["provenance"] == by_name["height.mend"]["provenance"]
    (out / "other.json").write_text("{}")
    assert get_reader(str(out / "other.json")) is None


def test_large_tiffs_in_a_batch_are_mended_block_by_block(archive, tmp_path, monkeypatch):
    from napari_mend.batch import one_file
    from napari_mend import blocks

    monkeypatch.setattr(one_file, "IN_BLOCKS_ABOVE", 50 * 50)  # the TIFFs are "large"
    out = tmp_path / "out"
    result = run_batch([str(archive)], out, **OPTIONS)
    assert result.counts["done"] == 3
    for name, source in (("sub__film.mend", "sub/film.tif"), ("height.mend", "height.tif")):
        bundle = read_bundle(out / name)
        assert bundle.provenance["parameters"]["chunk"] == blocks.DEFAULT_CHUNK
        mended, labels = blocks.compute(*restore(open_lazy(archive / source),
                                                 detector="classical", fill="telea"))
        np.testing.assert_array_equal(bundle.mended, mended)
        np.testing.assert_array_equal(bundle.labels, labels)
        np.testing.assert_array_equal(bundle.original, tifffile.imread(archive / source))
    assert "chunk" not in read_bundle(out / "photo.mend").provenance["parameters"]  # a PNG
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no work folder left


def test_resumed_batch_gives_the_same_outputs_and_no_partial_files(archive, tmp_path):
    inputs = [str(archive / "*.png"), str(archive / "*.tif"), str(archive / "sub")]
    whole = tmp_path / "whole"
    run_batch(inputs, whole, **OPTIONS)

    resumed = tmp_path / "resumed"

    def interrupt(done, total):
        if done >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(inputs, resumed, progress=interrupt, **OPTIONS)
    interrupted = read_manifest(resumed)
    assert interrupted["finished"] is None and interrupted["counts"]["total"] < 4
    # what a killed process leaves behind: a half-written bundle under a temporary name
    import subprocess

    from napari_mend.io import atomic

    dead = subprocess.Popen(["true"])
    dead.wait()
    left = atomic.temporary_name(resumed / "photo.mend").name.replace(f"-{os.getpid()}-",
                                                                      f"-{dead.pid}-")
    (resumed / left).mkdir()
    (resumed / left / "original.tif").write_bytes(b"half")
    result = run_batch(inputs, resumed, **OPTIONS)
    assert result.counts["skipped"] >= 1 and result.counts["total"] == 4
    assert sorted(p.name for p in resumed.iterdir() if p.name.startswith(".")) == []
    _assert_same_outputs(_bundle_arrays(whole), _bundle_arrays(resumed))

    # a third run does nothing and touches no bundle
    stamps = {p: p.stat().st_mtime_ns for p in resumed.glob("*.mend/*")}
    again = run_batch(inputs, resumed, **OPTIONS)
    assert again.counts["skipped"] == 3 and again.counts["done"] == 0
    assert stamps == {p: p.stat().st_mtime_ns for p in resumed.glob("*.mend/*")}


def test_plan_names_and_clashes(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    for name in ("a/x.png", "a/x.tif", "b/y.png", "a/.hidden.png"):
        (tmp_path / name).write_bytes(b"")
    jobs, _ = plan_jobs([str(tmp_path / "a"), str(tmp_path / "b" / "y.png"),
                         str(tmp_path / "a" / "x.png")], tmp_path / "out")
    assert [j.output.name for j in jobs] == ["x.png.mend", "x.tif.mend", "y.mend"]
    (tmp_path / "b" / "x.png").write_bytes(b"")
    with pytest.raises(BatchError, match="both"):
        plan_jobs([str(tmp_path / "a" / "x.png"), str(tmp_path / "b" / "x.png")],
                  tmp_path / "out")
    jobs, ignored = plan_jobs([str(tmp_path / "a" / "x.png")], tmp_path)  # inside OUT_DIR
    assert jobs == [] and ignored == [tmp_path / "a" / "x.png"]
    with pytest.raises(BatchError, match="no such file"):
        plan_jobs([str(tmp_path / "missing.png")], tmp_path / "out")
    with pytest.raises(BatchError, match="matches no file"):
        plan_jobs([str(tmp_path / "*.jpg")], tmp_path / "out")


def test_output_folder_problems_stop_before_work(archive, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(BatchError, match="cannot create the output folder"):
        run_batch([str(archive)], blocker / "out", **OPTIONS)
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(BatchError, match="cannot write into"):
            run_batch([str(archive)], locked, **OPTIONS)
    with pytest.raises(BatchError, match="threshold"):
        run_batch([str(archive)], tmp_path / "o", threshold=3, **OPTIONS)
    with pytest.raises(BatchError, match="not both"):
        run_batch([str(archive)], tmp_path / "o", detector="classical", fill="telea",
                  workers=1, scheduler="tcp://127.0.0.1:1")
    assert not (tmp_path / "o").exists()


def test_cli_on_an_existing_scheduler(archive, tmp_path, capsys):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp://", dashboard_address=None) as cluster:
        args = ["batch", str(archive / "*.png"), "-o", str(tmp_path / "out"),
                "--scheduler", cluster.scheduler_address, "--detector", "classical",
                "--fill", "telea"]
        assert main(args) == 1  # broken.png failed
        captured = capsys.readouterr()
        assert "1 mended, 0 already done, 1 failed" in captured.out
        assert "[2/2]" in captured.err and "FAILED" in captured.err
        (archive / "broken.png").unlink()
        assert main(args) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["settings"]["cluster"].startswith("scheduler tcp://")


@pytest.mark.slow
def test_cli_errors_in_seconds(archive, tmp_path, capsys):
    start = time.perf_counter()
    code = main(["batch", str(archive), "-o", str(tmp_path / "out"), "--detector", "classical",
                 "--fill", "telea", "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2 and time.perf_counter() - start < 15
    assert "no dask scheduler answered at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["batch", str(tmp_path / "nothing*.png"), "-o", str(tmp_path / "out"),
                 "--detector", "classical", "--fill", "telea"]) == 2
    assert "matches no file" in capsys.readouterr().err


def test_a_worker_failure_names_the_file(archive, tmp_path, monkeypatch):
    import napari_mend.batch.run as batch

    real = batch.mend_file

    def dies_on_film(source, output, options):
        if source.endswith("film.tif"):
            raise RuntimeError("worker lost")
        return real(source, output, options)

    monkeypatch.setattr(batch, "mend_file", dies_on_film)
    result = run_batch([str(archive)], tmp_path / "out", **OPTIONS)
    failed = [e for e in result.manifest["files"] if e["input"].endswith("film.tif")]
    assert failed[0]["status"] == "failed"
    assert failed[0]["error"].startswith(str(archive / "sub" / "film.tif"))
    assert str(archive / "sub" / "film.tif") in (tmp_path / "out" / "batch.log").read_text()


def test_a_stopped_batch_lists_bundles_finished_while_stopping(archive, tmp_path, monkeypatch):
    import napari_mend.batch.run as batch

    def finish_one_then_stop(client, jobs, todo, options, *rest):
        job = next(jobs[i] for i in todo if jobs[i].source.name == "photo.png")
        entry = batch.mend_file(str(job.source), str(job.output), options)  # finished while
        assert entry["status"] == "done"  # the run was being stopped
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "_run_jobs", finish_one_then_stop)
    with pytest.raises(KeyboardInterrupt):
        run_batch([str(archive)], tmp_path / "out", **OPTIONS)
    manifest = read_manifest(tmp_path / "out" / "manifest.json")
    done = [e for e in manifest["files"] if e["status"] == "done"]
    assert len(done) == 1 and done[0]["input"].endswith("photo.png")
    assert (tmp_path / "out" / done[0]["output"]).is_dir()
