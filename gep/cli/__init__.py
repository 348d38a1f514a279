"""The ``gep`` command line: every command, one shell (:mod:`gep.cli.shell`).

One module per command group (``run`` and ``compare``; ``replay`` and ``verify``;
``services``; ``coefficients``; ``bond``; ``capacity``; ``ledger``), mounted in
:mod:`gep.cli.app`. Commands parse, call a job or the library, and print; they
import numpy, pandas and xarray only inside their body, so ``gep --help`` and the
ledger commands start fast.
"""

from gep.cli.app import app, main  # noqa: F401
