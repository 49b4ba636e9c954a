"""The ``gapwatch`` command line (``gapwatch.cli.main:main``)."""
