"""``python -m retake.cli``: the same as the ``retake`` command."""

from . import main

main()
