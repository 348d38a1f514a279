"""Ecosystem services: one module per service, pure vectorised functions.

Each module holds the science as pure functions over DataArrays with declared
units (:func:`gep.units.unitful`) and one ``account(ls, coef, method, switches)``
adapter that reads the landscape and coefficients, calls the science and
returns a :class:`~gep.accounting.services.result.ServiceResult`. The catalogue
(:mod:`gep.accounting.catalogue`) lists them.
"""
