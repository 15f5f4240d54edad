"""What a reviewer files and reruns (issue #18): help that reads whole, the run's date, the data
file by name, the command line that reproduces the run, readable configuration values."""

from __future__ import annotations

from click.testing import CliRunner

from imbreport.cli import main
from imbreport.registry import METRIC_KEYS


def test_the_command_list_is_not_cut_mid_word():
    text = CliRunner().invoke(main, ["--help"]).output
    commands = text.split("Commands:")[1].strip().splitlines()
    assert len(commands) == 2
    for line in commands:
        assert not line.rstrip().endswith("..."), line


def test_the_gate_help_lists_every_metric_name():
    text = " ".join(CliRunner().invoke(main, ["analyze", "--help"]).output.split())
    gate_help = text.split("--fail-under")[1].split("--fail-over")[0]
    for metric in METRIC_KEYS:
        assert metric in gate_help, metric
