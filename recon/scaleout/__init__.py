"""Scale-out: many files, slices or table cells as Dask tasks (``recon batch``, ``recon reproduce``)."""
