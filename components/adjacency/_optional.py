"""Lazy imports of optional geo packages (shapely, h3)."""

from __future__ import annotations

import importlib
from types import ModuleType

from components.errors import InputError


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` or raise an :class:`InputError` telling how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(
            f"{feature} needs the optional package {module!r}, which is not installed: "
            "pip install 'terraplan[geo]' (in a warehouse: redeploy with 'terraplan deploy', "
            "which lists shapely and h3 when the warehouse offers them)",
            column=module,
        ) from None
