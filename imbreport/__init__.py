"""imbreport: a leakage-safe, honest report on class imbalance from a labelled CSV.

Public API (mirrors the CLI)::

    import imbreport
    report = imbreport.analyze("data.csv", target="label", seed=42)
    report.write("report.html")

Heavy libraries (scikit-learn, matplotlib, WeasyPrint) are imported lazily so that
``imbreport --help`` stays fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "analyze", "ImbreportError"]


def __getattr__(name):
    if name == "analyze":
        from imbreport.api import analyze

        return analyze
    if name == "ImbreportError":
        from imbreport.errors import ImbreportError

        return ImbreportError
    raise AttributeError(name)
