"""``python -m connector`` is the ``etds`` command."""

from connector.cli import main

main()
