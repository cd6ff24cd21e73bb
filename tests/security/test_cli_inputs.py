"""Output folders holding files that point elsewhere are not followed."""

import numpy as np
import tifffile


def test_batch_does_not_follow_a_symlinked_provenance(sandbox, tmp_path):
    from napari_mend.batch.run import run_batch

    secret = sandbox.home / "secret.json"
    secret.write_text('{"password": "hunter2"}')
    scans = sandbox.files / "scans"
    scans.mkdir()
    tifffile.imwrite(scans / "a.tif", np.full((32, 32), 100, np.uint8))
    out = sandbox.files / "out"
    run_batch([str(scans)], out, detector="classical", fill="biharmonic", workers=1,
              processes=False)
    provenance = out / "a.mend" / "provenance.json"
    provenance.unlink()
    provenance.symlink_to(secret)  # a shared output folder, tampered with
    result = run_batch([str(scans)], out, detector="classical", fill="biharmonic", workers=1,
                       processes=False)
    assert "hunter2" not in (out / "manifest.json").read_text()
    assert result.counts["skipped"] == 1
