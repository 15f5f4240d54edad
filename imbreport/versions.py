"""The versions of Python and of the libraries a report's numbers depend on (its appendix)."""

from __future__ import annotations


def library_versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in ("imbreport", "numpy", "pandas", "scikit-learn", "imbalanced-learn", "xgboost"):
        out[package] = "not installed"
        # the xgboost module comes from the xgboost or the CPU-only xgboost-cpu distribution
        for distribution in DISTRIBUTIONS.get(package, (package,)):
            try:
                out[package] = version(distribution)
                break
            except PackageNotFoundError:
                continue
    return out


#: Distributions that install a library's module, in the order they are looked for.
DISTRIBUTIONS = {"xgboost": ("xgboost", "xgboost-cpu")}
