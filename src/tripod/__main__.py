"""``python -m tripod`` is the ``tripod`` command."""

from tripod.cli import main

main()
