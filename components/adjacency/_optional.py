"""Lazy imports of optional geo packages (shapely, h3)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from components.errors import InputError


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` or raise an :class:`InputError` telling how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"{feature} needs the optional package {module!r}, which is not "
                         f"installed: {install_hint(module)}", column=module) from None


def install_hint(module: str) -> str:
    """How to get ``module``: pip on a laptop; a redeploy inside a Snowflake procedure."""
    # Snowflake sets this option in every Python procedure/UDF (its documented way to
    # find the staged imports); pip means nothing there, the PACKAGES clause does
    if "snowflake_import_directory" in getattr(sys, "_xoptions", {}):
        package = {"h3": "h3-py"}.get(module, module)
        return (f"this Snowflake procedure was deployed without {package!r} in its PACKAGES "
                "because the account's Anaconda channel did not offer it then; once "
                f"SELECT * FROM INFORMATION_SCHEMA.PACKAGES WHERE PACKAGE_NAME = '{package}' "
                "returns rows (an ORGADMIN may need to accept the Anaconda terms), run "
                "'terraplan deploy snowflake' again")
    return ("pip install 'terraplan[geo]' (in a warehouse: redeploy with 'terraplan deploy', "
            "which lists shapely and h3 when the warehouse offers them)")
