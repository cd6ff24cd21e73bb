"""Batches: detect and mend many image files on dask.distributed, resumably.

* :mod:`napari_mend.batch.run`: :func:`~napari_mend.batch.run.run_batch`,
  what ``napari-mend batch`` runs.
* :mod:`napari_mend.batch.plan`: input files -> one bundle each; the output folder.
* :mod:`napari_mend.batch.one_file`: one file restored into one output (a
  worker's task, and ``napari-mend restore``).
* :mod:`napari_mend.batch.cluster`: the dask.distributed cluster.
* :mod:`napari_mend.batch.manifest`: the batch manifest (provenance per file).

Nothing here imports dask or distributed until it is used.
"""
