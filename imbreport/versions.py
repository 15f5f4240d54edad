"""The versions of Python and of the libraries a report's numbers depend on (its appendix)."""

from __future__ import annotations


def library_versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in ("imbreport", "numpy", "pandas", "scikit-learn", "imbalanced-learn", "xgboost"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out
