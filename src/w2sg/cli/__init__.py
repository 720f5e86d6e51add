"""The `w2sg` command line: thin typer commands over the library (nothing in the library imports it)."""

import os

from w2sg.cli import bench, listing, results, run, store  # noqa: F401  (each module adds its commands to `app`)
from w2sg.cli.common import app


def main():  # pragma: no cover
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app()


__all__ = ["app", "main"]
