"""``recon reproduce TABLE``: each table of a paper that recon reproduces, as one command.

A table's cells (one method on one problem, seed or size) are Dask tasks
(:mod:`recon.scaleout.cluster`); the table writes a Markdown and a CSV table and a figure, with the
paper's published numbers beside ours where it gives them and each claim's verdict.
:mod:`recon.reproduce.tables` lists the tables, :mod:`recon.reproduce.runner` runs one.
"""
