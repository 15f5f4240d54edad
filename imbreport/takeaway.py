"""The recommended model, to take away: a scikit-learn estimator that predicts on a new frame.

The strategy the report recommends, fitted on every row with its threshold tuned by the same
procedure as inside each training part (``fitting.fit_on_all_rows``), wrapped so that it takes a
pandas DataFrame with the data's feature columns and decides at the threshold the report says to
deploy:

    FixedThresholdClassifier(FrozenEstimator(Pipeline([("columns", FrameToMatrix(...)),
                                                       ("model", <the fitted pipeline>)])),
                             threshold=<the deployed threshold>)

``predict_proba`` (or ``decision_function`` for the Isolation Forest) gives the score the report's
figures are computed from; ``predict`` compares it with the deployed threshold.
``fitting.FrameToMatrix`` turns a frame into the model matrix with the very code the engine
uses (``fitting.model_matrix``). Saved with skops (``save``), not pickle.
"""

from __future__ import annotations

import hashlib

import numpy as np

from imbreport.fitting import FrameToMatrix, UnseenCategoryWarning  # noqa: F401  (re-exported)
from imbreport.model import Dataset


def deployable(model, dataset: Dataset, threshold: float | None, response_method: str):
    """The estimator to take away: ``model`` (fitted on the model matrix of ``dataset``) behind a
    ``FrameToMatrix``, deciding at ``threshold`` (its default threshold where none was tuned)."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier
    from sklearn.pipeline import Pipeline

    whole = Pipeline([("columns", FrameToMatrix.of(dataset)), ("model", model)])
    if threshold is None:
        threshold = float(model[-1].cut_) if response_method == "decision_function" else 0.5
    chosen = FixedThresholdClassifier(
        FrozenEstimator(whole), threshold=float(threshold), response_method=response_method
    )
    head = dataset.X.head(2).copy()
    labels = np.array([0, 1])  # sets classes_; a frozen estimator is not fitted again
    return chosen.fit(head.iloc[np.arange(2) % len(head)], labels)


def save(estimator) -> tuple[bytes, str]:
    """The estimator as skops bytes and their SHA-256 (written by the caller, with the reports).
    The same model gives the same bytes: the archive's entries carry a fixed date, not the
    moment of saving, so reruns are byte-identical like the reports."""
    import skops.io

    blob = canonical_archive(skops.io.dumps(estimator))
    return blob, hashlib.sha256(blob).hexdigest()


def canonical_archive(archive: bytes) -> bytes:
    """A skops archive made independent of the moment and the process that wrote it.

    skops names its array files after ``id()`` or a random UUID, tags shared objects with their
    ``id()``, and dates every entry with the time of saving. Here each such name and tag is
    renumbered in order of first appearance in ``schema.json`` (the same object keeps one
    number, so what was shared stays shared), and every entry is dated 1980-01-01 (the zip
    epoch). The archive loads as before; the same model gives the same bytes.
    """
    import io
    import json
    import re
    import zipfile

    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        schema = source.read("schema.json").decode("utf-8")
        files = {name: source.read(name) for name in source.namelist() if name != "schema.json"}
    names: dict[str, str] = {}
    for name in re.findall(r'"file": "([^"]+)"', schema):
        if name in files and name not in names:
            names[name] = f"{len(names)}{name[name.rfind('.') :]}"
    ids: dict[str, str] = {}
    for number in re.findall(r'"__id__": (\d+)', schema):
        ids.setdefault(number, str(len(ids)))
    schema = re.sub(r'"file": "([^"]+)"', lambda m: f'"file": "{names.get(m[1], m[1])}"', schema)
    schema = re.sub(r'"__id__": (\d+)', lambda m: f'"__id__": {ids[m[1]]}', schema)
    json.loads(schema)  # still a valid document
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        entries = [("schema.json", schema.encode("utf-8"))]
        entries += sorted((names.get(name, name), data) for name, data in files.items())
        for name, data in entries:
            target.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def load(path: str):
    """A model saved by ``imbreport analyze --save-model``, trusting only the types it holds
    that this version of imbreport writes (scikit-learn, imbalanced-learn, XGBoost, imbreport)."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    allowed = ("sklearn.", "imblearn.", "xgboost.", "imbreport.", "numpy.", "builtins.")
    unexpected = [t for t in untrusted if not t.startswith(allowed)]
    if unexpected:
        raise ValueError(
            f"{path} holds types imbreport does not write ({', '.join(unexpected)}); not loaded."
        )
    return skops.io.load(path, trusted=untrusted)
