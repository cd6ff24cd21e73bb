"""Batches in the calling process (``in_process``, ``--in-process``): no dask needed."""

import numpy as np
import pytest

from napari_mend import Cancelled
from napari_mend.batch.manifest import read_manifest
from napari_mend.batch.plan import BatchError
from napari_mend.batch.run import run_batch
from napari_mend.cli.main import main
from napari_mend.io.bundle import read_bundle
from napari_mend.restore import restore

OPTIONS = {"detector": "classical", "fill": "telea", "in_process": True}


def test_in_process_mends_every_file_as_restore_does(archive, tmp_path):
    out = tmp_path / "mended"
    seen = []
    result = run_batch([str(archive)], out, progress=lambda d, t: seen.append((d, t)), **OPTIONS)
    assert result.counts == {"done": 3, "skipped": 0, "failed": 1, "total": 4}
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    manifest = read_manifest(out)
    assert manifest["settings"]["cluster"].startswith("none")
    for entry in manifest["files"]:
        if entry["status"] == "failed":
            assert entry["output"] == "broken.mend" and not (out / "broken.mend").exists()
            continue
        bundle = read_bundle(out / entry["output"])
        mended, labels = restore(bundle.original, channel_axis=bundle.channel_axis,
                                 detector="classical", fill="telea")
        np.testing.assert_array_equal(bundle.mended, mended)
        np.testing.assert_array_equal(bundle.labels, labels)


def test_a_cancelled_batch_stops_between_files_and_resumes(archive, tmp_path):
    out = tmp_path / "mended"

    def cancel_after_two(done, total):
        if done >= 2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        run_batch([str(archive)], out, progress=cancel_after_two, **OPTIONS)
    manifest = read_manifest(out)
    assert manifest["finished"] is None
    assert [(e["output"], e["status"]) for e in manifest["files"]] == [
        ("broken.mend", "failed"), ("height.mend", "done")]
    assert sorted(p.name for p in out.iterdir()) == ["batch.log", "height.mend",
                                                     "manifest.json"]  # nothing half-written
    again = run_batch([str(archive)], out, **OPTIONS)
    assert again.counts == {"done": 2, "skipped": 1, "failed": 1, "total": 4}
    assert again.manifest["finished"] is not None


def test_in_process_takes_no_workers_or_scheduler(archive, tmp_path):
    for extra in ({"workers": 2}, {"scheduler": "tcp://127.0.0.1:1"}):
        with pytest.raises(BatchError, match="give neither"):
            run_batch([str(archive)], tmp_path / "out", **OPTIONS, **extra)
    assert not (tmp_path / "out").exists()


def test_cli_in_process(archive, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["batch", str(archive / "sub"), "-o", str(out), "--in-process",
                 "--detector", "classical", "--fill", "telea"])
    assert code == 0
    assert "1 mended" in capsys.readouterr().out
    assert (out / "film.mend").exists()


def test_a_taught_model_is_kept_beside_the_bundles(archive, tmp_path):
    """A TaughtModel given to a batch is saved into the output folder, once, and the bundles'
    provenance names that file."""
    import tifffile

    import napari_mend as nm
    from napari_mend.teaching import FeatureSettings

    film = tifffile.imread(archive / "sub" / "film.tif")
    strokes = np.zeros(film.shape, np.uint8)
    strokes[film.shape[0] // 2, 5:-5] = 1  # the scratch
    strokes[40:60, 10:50] = nm.CLEAN_LABEL
    model = nm.teach(film, strokes, features=FeatureSettings(sigmas=(1, 4), tophat_radii=(2,),
                                                             network=False))
    out = tmp_path / "mended"
    for _ in range(2):  # the second run resumes: the same file, not another
        result = run_batch([str(archive / "sub")], out, detector=model, fill="telea",
                           in_process=True)
    saved = list(out.glob("taught-*.mendmodel"))
    assert len(saved) == 1 and result.counts["skipped"] == 1
    assert result.manifest["settings"]["detector"] == str(saved[0].resolve())
    provenance = read_bundle(out / "film.mend").provenance
    assert provenance["model"][0]["name"] == saved[0].stem
    assert nm.teach.load(saved[0]).card["sha256"] == provenance["model"][0]["sha256"]
    # a file of that name holding anything else is refused, not used
    saved[0].write_bytes(b"not this model")
    with pytest.raises(FileExistsError, match="another model"):
        run_batch([str(archive / "sub")], out, detector=model, in_process=True)
