"""The command-line shell: parse options, call the conductor (``api.analyze``), write outputs, exit.

Exit codes: 0 report written and every gate passed · 1 report written, a gate failed ·
2 bad usage or input, nothing written · 3 internal error (a bug) · 4 the machine stopped the run
(disk full, permission denied, out of memory, closed output) · 128+N a signal (130 Ctrl-C,
143 SIGTERM, 129 SIGHUP). Every line printed is printable-only: names from the data cannot
send terminal escapes. Progress and messages go to stderr;
stdout carries only the JSON of ``-o -``.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

import click

from imbreport import __version__
from imbreport.options import (  # declared once, checked by make_config
    DEFAULT_MAX_INPUT_SIZE,
    ENGINES,
    PAPER_SIZES,
    RANGES,
)
from imbreport.registry import METRIC_KEYS
from imbreport.registry import STRATEGY_NAMES as STRATEGIES  # light: no scikit-learn

if TYPE_CHECKING:
    from imbreport.model import Report

# OpenMP threads (XGBoost) that wait for work by sleeping, not spinning: on a busy or small machine
# spinning threads burn the cores the other workers need. Set before xgboost is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

EXIT_OK, EXIT_GATE, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
STRATEGY_NAMES = ", ".join(STRATEGIES)
CONFIG_SOURCE = "imbreport.config_source"
CONFIG_SKIPPED = "imbreport.config_skipped"
CONFIG_PATH = "imbreport.config_path"

EXIT_ENVIRONMENT = 4
EXIT_CODES_HELP = (
    "\b\nExit codes:\n"
    "  0  report(s) written, all gates passed\n"
    "  1  report(s) written, a quality gate failed (or --fail-if-worse found a drop)\n"
    "  2  bad usage or bad input; nothing written\n"
    "  3  internal error (please report it; --debug shows the traceback)\n"
    "  4  the machine stopped the run (disk full, permission, memory); no output changed\n"
    "  130, 143, 129  interrupted (Ctrl-C), terminated (SIGTERM), hung up (SIGHUP)"
)


class Messages:
    """Where messages go: stderr, silenced by --quiet, detailed with -v."""

    def __init__(self, quiet: bool = False, verbose: int = 0):
        self.quiet, self.verbose = quiet, verbose

    def info(self, text: str) -> None:
        if not self.quiet:
            say(text)

    def detail(self, text: str) -> None:
        if self.verbose and not self.quiet:
            say(text)

    def progress(self):
        if self.quiet or not sys.stderr.isatty():
            return None
        started = time.perf_counter()

        def show(done: int, total: int) -> None:
            elapsed = time.perf_counter() - started
            end = "\n" if done == total else ""
            click.echo(
                f"\rfitting strategies × folds: {done}/{total} ({elapsed:.0f} s)",
                err=True,
                nl=False,
            )
            if end:
                click.echo("", err=True)

        return show


def run_analysis(
    data_path: str,
    outputs: tuple[str, ...],
    options: dict,
    messages: Messages,
    display_name: str | None = None,
) -> int:
    """The shared body of ``analyze`` and ``demo``: evaluate, render every output, return the code."""
    from imbreport.api import analyze
    from imbreport.errors import ConfigError
    from imbreport.files import check_outputs
    from imbreport.render import output_format

    for path in outputs:
        output_format(path)  # an unknown extension is refused before anything runs
    if "-" in outputs and (sys.stdout is None or sys.stdout.closed):
        raise ConfigError("'-o -' writes the JSON to stdout, but stdout is closed.")
    save_model = options.pop("save_model", None)
    if save_model is not None and not save_model.endswith(".skops"):
        raise ConfigError(
            f"--save-model writes a skops file: give a name ending in .skops, not '{save_model}'."
        )
    if save_model is not None and options.get("only_scores"):
        raise ConfigError("--only-scores fits nothing, so --save-model has no model to save.")
    model_file = (save_model,) if save_model else ()
    check_outputs(outputs + model_file, inputs=(data_path, options.get("compare"), config_file()))
    render_process = None
    try:
        render_process = _render_process(data_path, outputs, options)
        report = analyze(
            data_path,
            progress=messages.progress(),
            display_name=display_name,  # None: the title shows the file's name, the appendix its path
            **options,
        )
        describe_data(report, messages)
        report, model_files = _saved_model(report, save_model, messages)
        write_outputs(report, outputs, options.get("paper"), messages, model_files, render_process)
    finally:
        if render_process is not None:
            render_process.close()
    describe_outcome(report, messages)
    return report.return_code


#: Inputs up to this size get a render process of their own (``render_process``): there the
#: start-up of matplotlib and WeasyPrint is a large share of the run. Larger inputs are not
#: worth its memory.
RENDER_PROCESS_MAX_INPUT_BYTES = 64 * 2**20


def _render_process(data_path: str, outputs: tuple[str, ...], options: dict):
    """A process that imports matplotlib (and WeasyPrint) while this one reads the data and
    fits, when an HTML or PDF report is asked for from a small file (``None`` otherwise)."""
    from imbreport.render import output_format
    from imbreport.render_process import RenderProcess

    formats = {output_format(path) for path in outputs}
    if not formats & {"html", "pdf"}:
        return None
    if options.get("engine", "pandas") != "pandas" or not os.path.isfile(data_path):
        return None
    if os.path.getsize(data_path) > RENDER_PROCESS_MAX_INPUT_BYTES:
        return None
    return RenderProcess.start(pdf="pdf" in formats)


def printable(text: str) -> str:
    """``text`` without control characters (names from the data reach the terminal): escape
    sequences cannot clear the screen or retitle the window, and a line break in a name cannot
    forge a line of its own (it prints as a space)."""
    return "".join(c if c.isprintable() else " " if c in "\r\n" else "?" for c in str(text))


def say(text: str) -> None:
    """One message on stderr, printable characters only."""
    click.echo(printable(text), err=True)


def config_file() -> str | None:
    """The configuration file this run reads, if any (an output must not replace it)."""
    return click.get_current_context().meta.get(CONFIG_PATH)


def describe_data(report: Report, messages: Messages) -> None:
    """What was read: the target, the positive class and its prevalence; warnings with -v."""
    ds = report.results.dataset
    messages.info(
        f"Target column '{ds.target}' ({ds.target_chosen_by}); positive class '{ds.positive_label}': "
        f"{ds.describe_positives()}."
    )
    for warning in report.warnings:
        messages.detail(f"Warning: {warning}")
    # what changes how far the verdict can be trusted is said even without -v
    for strategy in report.results.strategies:
        if not strategy.ok:
            messages.info(f"Warning: {printable(strategy.label)} skipped: {strategy.reason}")
        for note in strategy.notes:
            if note.startswith("Threshold tuning failed"):
                messages.info(f"Warning: {printable(strategy.label)}: {note}")
    if ds.duplicate_rows:
        messages.info(
            f"Warning: {ds.duplicate_rows:,} rows repeat another row's features exactly; copies "
            "were kept in one fold."
        )


def _saved_model(report, path: str | None, messages: Messages):
    """With ``--save-model``: the report recording the model's file and SHA-256, and the file to
    write beside the reports (nothing when no strategy is recommended)."""
    from dataclasses import replace

    from imbreport.takeaway import save

    if path is None:
        return report, []
    if report.model is None:
        messages.info("Warning: no strategy is recommended, so no model was saved (--save-model).")
        return report, []
    blob, sha256 = save(report.model)
    saved = {"file": os.path.basename(path), "sha256": sha256}
    return replace(report, saved_model=saved), [(path, blob)]


def write_outputs(
    report: Report,
    outputs: tuple[str, ...],
    paper: str | None,
    messages: Messages,
    extra_files: list[tuple[str, bytes]] = (),
    render_process=None,
) -> None:
    """Render every output first (a failure leaves every file untouched), then write the files
    all-or-nothing; ``-`` goes to stdout last. A ``render_process`` does the drawing and the PDF
    layout, if given."""
    from imbreport.errors import EnvironmentFailure
    from imbreport.files import describe_os_error, write_all
    from imbreport.render import Renderer, output_format

    renderer = Renderer(report, render_process)
    rendered = [(path, renderer.render(output_format(path), paper)) for path in outputs]
    files = [(path, content) for path, content in rendered if path != "-"] + list(extra_files)
    write_all(files)
    for path, _ in files:
        messages.info(f"Wrote {path}")
    for path, content in rendered:
        if path == "-":
            try:
                _to_stdout(content)
            except OSError as exc:
                _silence_stdout()
                written = " (the files were written)" if files else ""
                raise EnvironmentFailure(
                    f"Could not write the JSON to stdout: {describe_os_error(exc)}{written}."
                ) from None


def _to_stdout(content: bytes) -> None:
    """All of ``content`` on stdout: a write that takes only part of it is continued, and one
    that takes nothing (a reader gone) is an error, never a silently cut JSON."""
    import errno

    remaining = memoryview(content)
    while remaining:
        written = sys.stdout.buffer.write(remaining)
        if not written:
            raise OSError(errno.EPIPE, "Broken pipe")
        remaining = remaining[written:]
    sys.stdout.buffer.flush()


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def describe_outcome(report: Report, messages: Messages) -> None:
    """The recommendation, the changes and the gates on stderr; failures even with --quiet."""
    from imbreport.view import existing_sentences

    verdict = report.verdict
    recommended = verdict.recommended
    scored = report.results.strategy(verdict.focus)
    if recommended.strategy is None and scored is not None and scored.existing:
        test = verdict.chance.get(scored.name)
        beats = "beats chance" if test is not None and test.beats_chance else "does not beat chance"
        messages.info(
            f"Existing model '{scored.name}' {beats}: PR-AUC {scored.metrics['pr_auc'].value:.3f}"
            " (--only-scores: nothing fitted, nothing recommended)."
        )
    elif recommended.strategy is None:
        messages.info("No strategy beats chance on this data.")
    else:
        at = "" if recommended.threshold is None else f" at threshold {recommended.threshold:.3f}"
        messages.info(f"Recommended: {recommended.strategy}{at}")
        if verdict.undecided:
            messages.info(
                f"Note: the data cannot tell it apart from {', '.join(verdict.undecided)} "
                "(neither better nor shown equivalent)."
            )
    for line in existing_sentences(report.results, verdict):
        messages.info(line)
    if verdict.indicative:
        messages.info(f"Note: indicative only. {verdict.indicative}")
    if verdict.deployment is not None and verdict.deployment.unstable:
        messages.info(f"Warning: {verdict.deployment.unstable}")
    if verdict.segments is not None:
        for line in verdict.segments.flagged:
            messages.info(f"Segment: {printable(line)}")
    if report.changes is not None:
        for line in report.changes.highlights:
            messages.detail(f"Change: {line}")
        if report.changes.failed:
            say(f"Worse than the previous run: {_drop(report.changes)}")
    for gate in report.gates:
        if gate.passed:
            messages.detail(f"Gate passed: {gate.message}")
        else:
            say(f"Gate failed: {gate.message}")


def _drop(changes) -> str:
    """The significant drop that ``--fail-if-worse`` turned into exit code 1, in one sentence."""
    primary = changes.primary
    if primary.current is None:
        return "no strategy beats chance any more (--fail-if-worse)."
    return (
        f"the recommended strategy's PR-AUC fell from {primary.previous:.3f} "
        f"({primary.previous_strategy}) to {primary.current:.3f} "
        f"({primary.current_strategy}), a significant drop (--fail-if-worse)."
    )


#: Signals that end a run like Ctrl-C does: a cron or CI timeout, a closed terminal or SSH session.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """SIGTERM or SIGHUP turned into an exception, so that temporary files and worker processes
    are cleaned up before the process exits."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def install_signal_handlers() -> dict[int, Any]:
    """Make SIGTERM and SIGHUP unwind like Ctrl-C; returns the previous handlers (none off the
    main thread)."""
    previous = {}
    for signum in STOP_SIGNALS:
        try:
            previous[signum] = signal.signal(signum, _raise_terminated)
        except ValueError:  # not the main thread (e.g. some test runners)
            pass
    return previous


def guarded(body: Callable[[], int], debug: bool) -> None:
    """Run ``body`` and turn every outcome into the documented exit code."""
    previous_handlers = install_signal_handlers()
    try:
        code = _run_guarded(body, debug)
    finally:
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
    # Every output is written; spare the interpreter's final garbage collections over the
    # libraries' objects (about 0.4 s at exit). Exit handlers still run.
    gc.freeze()
    sys.exit(code)


def _run_guarded(body: Callable[[], int], debug: bool) -> int:
    from imbreport.errors import EnvironmentFailure, ImbreportError

    try:
        return body()
    except (KeyboardInterrupt, Terminated) as exc:
        return _stopped(exc)
    except ImbreportError as exc:
        if debug:
            raise
        say(f"Error: {exc}")
        return EXIT_INPUT
    except (EnvironmentFailure, MemoryError, OSError) as exc:
        if debug:
            raise
        say(f"Error: {_environment_message(exc)}")
        return EXIT_ENVIRONMENT
    except Exception as exc:  # a bug: say so, exit 3
        if debug:
            raise
        say(
            f"Error: internal error ({type(exc).__name__}: {exc}). No partial file was written. "
            "Run again with --debug for the traceback and please report it."
        )
        return EXIT_INTERNAL


def _stopped(exc: BaseException) -> int:
    """Ctrl-C, SIGTERM or SIGHUP: stop the worker processes, one line, exit 128 + the signal."""
    from imbreport.workers import stop

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the tidy-up
    stop()
    signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
    reason = {signal.SIGINT: "interrupted", signal.SIGHUP: "hung up"}.get(signum, "terminated")
    say(f"Error: {reason}; files not yet written were left untouched, no partial file remains.")
    return 128 + signum


def _environment_message(exc: BaseException) -> str:
    """What stopped the run, when it was the machine and not the data or a bug."""
    from imbreport.files import describe_os_error

    if isinstance(exc, MemoryError):
        return (
            "out of memory. Analyse a sample of the rows with --sample N (every positive is "
            "kept), or run on a machine with more memory. No output was changed."
        )
    if isinstance(exc, OSError):
        where = f" ('{exc.filename}')" if exc.filename else ""
        return f"the machine stopped the run{where}: {describe_os_error(exc)}."
    return str(exc)


class SizeType(click.ParamType):
    """``500M`` / ``16G`` / a number of bytes → bytes; a bad size is a usage error (exit 2)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from imbreport.errors import ConfigError
        from imbreport.options import parse_size

        try:
            size = parse_size(value)
        except ConfigError as exc:
            self.fail(str(exc), param, ctx)
        if size < 1:
            self.fail("must be at least 1 byte", param, ctx)
        return size


class GateType(click.ParamType):
    """``[STRATEGY.]METRIC=VALUE`` → ``GateSpec``; a bad spec is a usage error (exit 2)."""

    name = "gate"

    def __init__(self, direction: str):
        self.direction = direction

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from imbreport.errors import ConfigError
        from imbreport.gates import GateSpec, parse_gate

        if isinstance(value, GateSpec):
            return value
        try:
            return parse_gate(str(value), self.direction, None)
        except ConfigError as exc:
            self.fail(str(exc), param, ctx)


def config_callback(read_pyproject: bool) -> Callable[..., None]:
    """The eager ``--config`` callback: the file's options become the command's defaults."""

    def load(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        from imbreport.configfile import ConfigFileError

        try:
            _read_config(ctx, value)
        except (click.ClickException, click.exceptions.Exit):
            raise
        except Exception as exc:  # whatever a hostile file does, exit 2 with one line
            source = value or "pyproject.toml"
            raise ConfigFileError(f"{source}: cannot be used ({type(exc).__name__}).") from None

    def _read_config(ctx: click.Context, value: str | None) -> None:
        from imbreport.configfile import (
            PYPROJECT,
            find_pyproject_options,
            option_names,
            read_toml,
            to_default_map,
        )

        if value is not None:
            source, table = value, read_toml(value)
            ctx.meta[CONFIG_PATH] = value
        else:
            found = find_pyproject_options() if read_pyproject else None
            if found is None:
                return
            source, table = found
            ctx.meta[CONFIG_PATH] = PYPROJECT
        # demo shares analyze's config files; the keys that describe the data do not apply to it
        analyze_only = frozenset(option_names(analyze)) - frozenset(option_names(ctx.command))
        defaults = to_default_map(table, ctx.command, ctx, source, ignored=analyze_only)
        ctx.default_map = {**(ctx.default_map or {}), **defaults}
        ctx.meta[CONFIG_SOURCE] = source
        skipped = sorted(k for k in table if k.replace("-", "_") in analyze_only)
        if skipped:
            ctx.meta[CONFIG_SKIPPED] = skipped

    return load


def _split_names(ctx, param, value):
    if value is None:
        return None
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    return names or None


def analysis_options(read_pyproject: bool = False) -> Callable[[Callable], Callable]:
    """Options shared by ``analyze`` and ``demo`` (defined once)."""

    def decorate(func):
        for option in reversed(_shared_options(read_pyproject)):
            func = option(func)
        return func

    return decorate


def _shared_options(read_pyproject: bool) -> list:
    return [
        click.option(
            "-o",
            "--output",
            "outputs",
            multiple=True,
            metavar="PATH",
            help="Output file; the extension picks the format: .html, .pdf, .json, .md. "
            "Repeat for several formats. '-' writes the JSON to stdout. [default: report.html]",
        ),
        click.option(
            "--strategies",
            callback=_split_names,
            metavar="A,B,…",
            help=f"Comma-separated subset of strategies. [default: all: {STRATEGY_NAMES}]",
        ),
        click.option(
            "--folds",
            type=click.IntRange(*RANGES["folds"]),
            default=5,
            show_default=True,
            help="Cross-validation folds (fewer when there are fewer positives).",
        ),
        click.option(
            "--repeats",
            type=click.IntRange(*RANGES["repeats"]),
            default=1,
            show_default=True,
            help="Repeats of the cross-validation.",
        ),
        click.option(
            "--holdout",
            type=click.FloatRange(*RANGES["holdout"]),
            default=None,
            metavar="FRACTION",
            help="Evaluate on a single stratified holdout of this fraction instead of "
            "cross-validation (the article's protocol). [default: off]",
        ),
        click.option(
            "--seed",
            type=click.IntRange(*RANGES["seed"]),
            default=42,
            show_default=True,
            help="Seed for every random step (splits, resampling, models, bootstrap).",
        ),
        click.option(
            "--n-jobs",
            type=click.IntRange(*RANGES["n_jobs"]),
            default=-1,
            show_default=True,
            help="Parallel worker processes for folds × strategies; -1 = all cores (small data "
            "is fitted in one process).",
        ),
        click.option(
            "--threshold-objective",
            default="f1",
            show_default=True,
            metavar="OBJECTIVE",
            help="What threshold tuning maximises: f1, fbeta:B, precision>=P, recall>=R, "
            "or cost (with --cost-fp and --cost-fn).",
        ),
        click.option(
            "--cost-fp",
            type=click.FloatRange(*RANGES["cost_fp"]),
            default=None,
            help="Cost of one false positive (for --threshold-objective cost). [default: none]",
        ),
        click.option(
            "--cost-fn",
            type=click.FloatRange(*RANGES["cost_fn"]),
            default=None,
            help="Cost of one false negative (for --threshold-objective cost). [default: none]",
        ),
        click.option(
            "--bootstrap",
            type=click.IntRange(*RANGES["bootstrap"]),
            default=1000,
            show_default=True,
            help="Bootstrap resamples for the 95% intervals.",
        ),
        click.option(
            "--paper",
            type=click.Choice(PAPER_SIZES, case_sensitive=False),
            default="a4",
            show_default=True,
            help="Paper size of PDF output.",
        ),
        click.option(
            "--fail-under",
            multiple=True,
            type=GateType("under"),
            metavar="[STRATEGY.]METRIC=VALUE",
            help="Quality gate: exit 1 when the metric is below VALUE, on the recommended "
            "strategy or on STRATEGY (repeatable), e.g. pr_auc=0.6, xgboost.recall=0.8. "
            f"METRIC is one of {', '.join(METRIC_KEYS)}. "
            "Thresholded metrics are read at the tuned threshold. On a --segment group: "
            "METRIC[COLUMN=VALUE]=LIMIT (recall, precision or pr_auc; VALUE * for every group "
            "with 30+ positives). [default: none]",
        ),
        click.option(
            "--fail-over",
            multiple=True,
            type=GateType("over"),
            metavar="[STRATEGY.]METRIC=VALUE",
            help="Quality gate for lower-is-better metrics (brier, log_loss): exit 1 when "
            "the metric is above VALUE (repeatable). [default: none]",
        ),
        click.option(
            "--compare",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            metavar="PREVIOUS.json",
            help="Compare with a previous JSON report: adds a 'changes' section. [default: off]",
        ),
        click.option(
            "--fail-if-worse",
            is_flag=True,
            default=False,
            help="With --compare: exit 1 when the previously recommended strategy's PR-AUC "
            "dropped significantly (z-test at 5%). [default: off]",
        ),
        click.option(
            "--config",
            type=click.Path(exists=True, dir_okay=False),
            is_eager=True,
            expose_value=False,
            callback=config_callback(read_pyproject),
            metavar="FILE.toml",
            help="Read options from a TOML file (long option names, e.g. positive_label = "
            '"yes"); command-line options override it. [default: '
            + ("[tool.imbreport] of ./pyproject.toml if present]" if read_pyproject else "none]"),
        ),
        click.option(
            "--no-timings",
            is_flag=True,
            default=False,
            help="Leave run timings out of the JSON and HTML (byte-identical reruns). "
            "[default: off]",
        ),
        click.option(
            "-q", "--quiet", is_flag=True, help="Print nothing but errors. [default: off]"
        ),
        click.option(
            "-v",
            "--verbose",
            count=True,
            help="Print details (warnings, gates passed, changes, config file). [default: off]",
        ),
        click.option(
            "--debug",
            is_flag=True,
            help="Show Python tracebacks instead of short errors. [default: off]",
        ),
    ]


def _collect(kwargs: dict) -> tuple[dict, Messages, bool]:
    messages = Messages(kwargs.pop("quiet"), kwargs.pop("verbose"))
    debug = kwargs.pop("debug")
    meta = click.get_current_context().meta
    if meta.get(CONFIG_SOURCE):
        messages.detail(f"Options read from {meta[CONFIG_SOURCE]}.")
    if meta.get(CONFIG_SKIPPED):
        messages.info(
            f"Note: {', '.join(meta[CONFIG_SKIPPED])} in {meta[CONFIG_SOURCE]} describe your own "
            "data; demo uses its bundled dataset and leaves them aside."
        )
    kwargs["timings"] = not kwargs.pop("no_timings")
    kwargs["paper"] = kwargs["paper"].lower()
    return kwargs, messages, debug


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="imbreport")
def main():
    """imbreport: a trustworthy report on class imbalance from a labelled CSV.

    Every strategy of the reference article (majority baseline, logistic regression, random
    under/oversampling, SMOTE, balanced class weights, XGBoost with scale_pos_weight, threshold
    tuning, Isolation Forest) is evaluated under one leakage-safe protocol.
    """


@main.command(epilog=EXIT_CODES_HELP, short_help="Evaluate every strategy on a CSV; write reports.")
@click.argument("data", type=click.Path(dir_okay=True, allow_dash=False))
@click.option(
    "--target",
    default=None,
    metavar="COLUMN",
    help="Target column. [default: a column named target/label/class/y, else the last]",
)
@click.option(
    "--positive-label",
    default=None,
    metavar="VALUE",
    help="The positive (minority) class; with more than two classes, one-vs-rest on it. "
    "[default: the minority class]",
)
@click.option(
    "--categorical",
    multiple=True,
    metavar="COLUMN",
    help="Treat a numeric-looking column as categorical (repeatable). [default: none]",
)
@click.option(
    "--groups",
    default=None,
    metavar="COLUMN",
    help="A column saying which rows belong together (customer, patient, device): no group is "
    "both learned from and evaluated; the column is not a feature. Exact copies of a feature "
    "row are always kept together. [default: none]",
)
@click.option(
    "--score",
    multiple=True,
    metavar="COLUMN",
    help="A column holding an existing model's scores (higher = more likely positive; "
    "repeatable): a row of the leaderboard, compared with every strategy; never a feature. "
    "The scores must be out-of-sample for these rows. [default: none]",
)
@click.option(
    "--only-scores",
    is_flag=True,
    default=False,
    help="Evaluate the --score columns alone and fit nothing (the fast weekly audit). "
    "[default: off]",
)
@click.option(
    "--segment",
    multiple=True,
    metavar="COLUMN",
    help="Report figures per group of this column (numbers cut into quartiles; repeatable) "
    "and flag groups where recall or precision falls distinguishably below the rest. "
    "[default: none]",
)
@click.option(
    "--time",
    default=None,
    metavar="COLUMN",
    help="A date/time or ordinal column: every evaluated row is later than every row its model "
    "learned from (forward-chaining folds; --holdout takes the latest rows); not a feature. "
    "[default: random stratified splits]",
)
@click.option(
    "--sample",
    type=click.IntRange(*RANGES["sample"]),
    default=None,
    metavar="N",
    help="Keep every positive and a random sample of negatives, N rows in all. [default: off]",
)
@click.option(
    "--save-model",
    default=None,
    metavar="FILE.skops",
    help="Also save the recommended strategy, fitted on all the data as in each training part "
    "and deciding at the deployed threshold, as a scikit-learn estimator in skops format (see "
    "the README to load it). [default: off]",
)
@click.option(
    "--max-input-size",
    type=SizeType(),
    default=DEFAULT_MAX_INPUT_SIZE,
    metavar="SIZE",
    help="Refuse a data file larger than SIZE, or one whose text passes SIZE once "
    "decompressed (500M, 16G; K/M/G/T are powers of 1,024). [default: 2G]",
)
@click.option("--encoding", default=None, help="File encoding. [default: UTF-8, else Latin-1]")
@click.option("--sep", default=None, help="Field delimiter. [default: sniffed among , ; tab |]")
@click.option(
    "--decimal", default=".", show_default=True, help="Decimal mark of numbers, e.g. ','."
)
# --- --engine dask (issue #16): one block, so that other options merge around it ---
@click.option(
    "--engine",
    type=click.Choice(ENGINES, case_sensitive=False),
    default="pandas",
    show_default=True,
    help="Where the heavy work runs: 'pandas' in this process and its workers; 'dask' on a "
    "Dask cluster, which reads the file in partitions and scores every row while this "
    "process fits on every positive and a sample of negatives (pip install "
    "'imbreport[dask]'; for tables that do not fit in memory).",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="With --engine dask: the Dask scheduler to use, e.g. tcp://10.0.0.5:8786 (or "
    "DASK_SCHEDULER_ADDRESS). [default: a local cluster started and stopped with the run]",
)
@analysis_options(read_pyproject=True)
def analyze(data, **kwargs):
    """Evaluate every imbalance strategy on DATA and write reports.

    DATA is a CSV file (optionally gzip, bzip2 or xz compressed), a Parquet file, or a folder
    of Parquet files (a partitioned table).

    \b
    Examples:
      imbreport analyze data.csv -o report.html
      imbreport analyze data.csv --target churned -o report.html -o report.pdf -o result.json
      imbreport analyze data.csv --holdout 0.3 --seed 42 -o -
    """
    options, messages, debug = _collect(kwargs)
    outputs = options.pop("outputs") or ("report.html",)
    for key in ("categorical", "score", "segment"):
        options[key] = tuple(options[key])
    guarded(lambda: run_analysis(data, outputs, options, messages), debug)


@main.command(epilog=EXIT_CODES_HELP, short_help="Run analyze on the bundled 1,000-row dataset.")
@analysis_options()
def demo(**kwargs):
    """Run analyze on the reference article's bundled dataset (1,000 rows, 50 positives).

    \b
    Example:
      imbreport demo -o report.html
    """
    options, messages, debug = _collect(kwargs)
    outputs = options.pop("outputs") or ("report.html",)
    data = resources.files("imbreport.datasets") / "article_dataset.csv"
    options["target"] = "label"

    def body():
        with resources.as_file(data) as path:
            return run_analysis(
                str(path), outputs, options, messages, display_name="article_dataset.csv"
            )

    guarded(body, debug)


if __name__ == "__main__":
    main()
