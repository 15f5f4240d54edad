"""End-to-end smoke test: the demo command writes every format from the bundled data."""

import json

from click.testing import CliRunner

from imbreport.cli import main


def test_demo_writes_every_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main,
        ["demo", "-o", "r.html", "-o", "r.json", "-o", "r.md", "--bootstrap", "200"],
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    for section in ("summary", "dataset", "protocol", "leaderboard", "appendix"):
        assert f'id="{section}"' in html
    assert data["dataset"]["rows_used"] == 1000
    assert {s["name"] for s in data["strategies"]} >= {"majority", "smote", "balanced", "xgboost"}
    assert "Recommendations" in markdown


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "imbreport" in result.output
