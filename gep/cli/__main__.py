"""``python -m gep.cli``: the ``gep`` command."""

from gep.cli import main

main()
