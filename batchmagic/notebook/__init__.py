"""What IPython and Jupyter see: the magics, their option table, the widget and text displays,
the jobs table and attach.

The top layer: it may import everything below it (``run``, ``aws``, ``jobdef``, ``ledger``,
``config``, ``settings``, ``errors``); nothing below imports it. Formatting of runs for people
lives here (``format``), not on the run handle.
"""
