"""Every record type, one module each. Importing this package registers them all: the built-in
types in the order below (the order of the collections in the index, the contract and the
exports), then any other module of this folder in name order, so a new type is one new
module."""

from __future__ import annotations

import importlib
import pkgutil

BUILT_IN = ("resource", "indicator", "relief_option", "hotline")

for _name in (*BUILT_IN, *sorted(m.name for m in pkgutil.iter_modules(__path__)
                                 if m.name not in BUILT_IN)):
    importlib.import_module(f"{__name__}.{_name}")
