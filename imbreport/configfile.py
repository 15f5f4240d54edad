"""Configuration files: ``--config imbreport.toml`` and ``[tool.imbreport]`` in ``pyproject.toml``.

Keys are the command's long option names with underscores (``positive_label``; dashes are
accepted too); repeatable options (``output``, ``categorical``, ``fail_under``, ``fail_over``) are
arrays. Every value is checked and converted by the option's own click type, and the result
becomes the command's ``default_map``: options given on the command line override it. A bad key
or value is a ``ConfigFileError`` (exit code 2) that names the file, the key and the problem;
so is a file that is not UTF-8, nested too deeply, or a ``pyproject.toml`` whose ``tool`` is not a
table, even when the ``pyproject.toml`` was found rather than asked for.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from typing import Any

import click

#: Options that make no sense in a configuration file.
NOT_IN_FILE = ("config", "help", "version")
PYPROJECT = "pyproject.toml"


class ConfigFileError(click.ClickException):
    """A configuration file that cannot be used; exits with code 2 like every usage error."""

    exit_code = 2


def read_toml(path: str) -> dict[str, Any]:
    """The options table of ``path``: ``[tool.imbreport]`` for a pyproject.toml, else the top."""
    try:
        with open(path, "rb") as stream:
            document = tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path}: not valid TOML ({exc}).") from None
    except UnicodeDecodeError:
        raise ConfigFileError(f"{path}: not valid TOML (TOML files are UTF-8 text).") from None
    except RecursionError:
        raise ConfigFileError(f"{path}: not usable (nested too deeply).") from None
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot be read ({exc.strerror}).") from None
    if os.path.basename(path) == PYPROJECT:
        tool = _require_table(document.get("tool", {}), f"{path} [tool]")
        return _require_table(tool.get("imbreport", {}), f"{path} [tool.imbreport]")
    return document


def find_pyproject_options(folder: str = ".") -> tuple[str, dict[str, Any]] | None:
    """``[tool.imbreport]`` of the pyproject.toml in ``folder``, if there is one."""
    path = os.path.join(folder, PYPROJECT)
    if not os.path.isfile(path):
        return None
    table = read_toml(path)
    return (f"{PYPROJECT} [tool.imbreport]", table) if table else None


def to_default_map(
    table: dict[str, Any],
    command: click.Command,
    ctx: click.Context,
    source: str,
    ignored: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Check every key of ``table`` against ``command``'s options and convert its value; keys
    named in ``ignored`` (options of another command sharing the file) are skipped."""
    options = option_names(command)
    default_map = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name in ignored and name not in options:
            continue
        if name not in options:
            raise ConfigFileError(_unknown_key(source, key, options))
        param = options[name]
        if param.name in default_map:
            raise ConfigFileError(f"{source}: '{key}' is given twice (with - and with _).")
        default_map[param.name] = convert_value(param, value, ctx, f"{source}: '{key}'")
    return default_map


def option_names(command: click.Command) -> dict[str, click.Option]:
    """Each option of ``command`` by its long name with underscores (``positive_label``)."""
    names = {}
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        long_names = [o for o in param.opts if o.startswith("--")]
        if not long_names:
            continue
        name = long_names[0][2:].replace("-", "_")
        if name not in NOT_IN_FILE:
            names[name] = param
    return names


def convert_value(param: click.Option, value: Any, ctx: click.Context, where: str) -> Any:
    """Check the TOML type of ``value`` for ``param``, then convert it with the option's type."""
    if param.multiple:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ConfigFileError(f"{where} must be an array of strings, got {_kind(value)}.")
        return tuple(_convert_one(param, item, ctx, where) for item in items)
    if isinstance(value, list) and param.name == "strategies":
        value = ",".join(str(item) for item in value)
    return _convert_one(param, value, ctx, where)


def _convert_one(param: click.Option, value: Any, ctx: click.Context, where: str) -> Any:
    expected = _expected_kind(param)
    if not _fits(value, expected):
        raise ConfigFileError(f"{where} must be {expected}, got {_kind(value)} {value!r}.")
    if expected == "a boolean":
        return value
    if param.count:
        return int(value)
    if expected == "a string" and not isinstance(value, str):
        value = str(value)
    try:
        return param.type.convert(value, param, ctx)
    except click.BadParameter as exc:
        raise ConfigFileError(f"{where}: {exc.message}") from None


def _expected_kind(param: click.Option) -> str:
    if param.is_flag and not param.count:
        return "a boolean"
    if param.count or isinstance(param.type, click.types.IntParamType):
        return "an integer"
    if isinstance(param.type, click.types.FloatParamType):
        return "a number"
    return "a string"


def _fits(value: Any, expected: str) -> bool:
    if expected == "a boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if expected == "an integer":
        return isinstance(value, int)
    if expected == "a number":
        return isinstance(value, int | float)
    return isinstance(value, str | int | float)  # 1 for positive_label is fine


def _unknown_key(source: str, key: str, options: dict[str, click.Option]) -> str:
    close = difflib.get_close_matches(key.replace("-", "_"), list(options), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"{source}: unknown key '{key}'.{hint} Valid keys: {', '.join(sorted(options))}."


def _require_table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigFileError(f"{where} must be a table of options.")
    return value


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)
