"""One run's life: prepare (inputs, template, checks), submit, the run handle that follows the
job, the outputs and pulled values that come back, and the dry run.

May import ``aws``, ``jobdef``, ``ledger``, ``runtime``, ``settings`` and ``errors``; never the
notebook layer. What a run (or a ``--map`` sweep) needs from its display is the ``RunDisplay``
(``MapDisplay``) Protocol in ``view``, which the notebook layer implements.
"""
