"""Import every module of a registry package, so that adding a method or a supervisor kind is adding a file."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable


def import_modules(package: str, path: Iterable[str], skip: tuple[str, ...] = ("base", "registry")) -> None:
    """Import `package.<module>` for every module in `path` (sorted, `skip` left out); each registers itself."""
    for name in sorted(m.name for m in pkgutil.iter_modules(path)):
        if name not in skip:
            importlib.import_module(f"{package}.{name}")
