"""Scale: lazy (dask) detection and mending of huge images, and batches on dask.distributed.

* :mod:`napari_mend.scale.lazy`: dask-backed ``detect_scores``, ``detect``,
  ``inpaint`` and ``restore`` (the public API dispatches dask and zarr inputs
  there), with progress while computing or storing.
* :mod:`napari_mend.scale.batch`: ``napari-mend batch``, detect + mend a
  collection of files on a dask.distributed cluster, resumable.
* :mod:`napari_mend.scale.manifest`: the batch manifest (provenance per file).

Nothing here imports dask or distributed until it is used.
"""
