"""Running scenarios and comparing routing strategies (the scenario files themselves: :mod:`netlab.scenario`).

==============  ============================================================================================
``runner``      :func:`~.runner.run` and :class:`~.runner.Simulation`: one scenario, one seed, one Results
``compare``     :func:`~.compare.compare`: every strategy x replication on the same arrivals, as jobs
``comparison``  :class:`~.comparison.Comparison`: its tables (summary, paired differences), saved and loaded
``sweep``       :func:`~.sweep.sweep` a key or the offered load; :func:`~.sweep.scale_load`
``parallel``    where the jobs run: this process, local processes, a Dask cluster (same numbers)
``stats``       Student-t intervals over replications
``run_metrics`` the per-run numbers a comparison compares
==============  ============================================================================================
"""
