"""Uncertainty and sensitivity: GEP, credits and coverage with ranges, and what drives them.

* :mod:`~gep.uncertainty.space` — the uncertain variables: every coefficient with a range
  (its distribution chosen by its confidence), the input errors a scenario declares, and
  how a row of uniform numbers becomes a row of values;
* :mod:`~gep.uncertainty.propagation` — the values pushed through the services of one
  landscape: an exact multi-affine model where a service is affine in each coefficient
  (verified), with Chebyshev curves in constants it is smooth in, or of capacities capped
  per sample; the engine itself per sample where none of these serves;
* :mod:`~gep.uncertainty.sensitivity` — the Saltelli design and the variance-based first-order
  and total indices (SALib), percentiles and Monte Carlo standard errors;
* :mod:`~gep.uncertainty.credits` — issuable capacity credits with ranges.

A domain package: it is handed plain data (a scenario's landscape, coefficient sets, tables)
and reads no file. ``docs/uncertainty.md`` documents the distributions, the estimators and
what is exact.
"""
