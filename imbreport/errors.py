"""The one exception family of imbreport: messages a user can act on.

Every error a user can cause (bad file, bad column, bad option) is an ``ImbreportError``; the CLI
prints it as ``Error: …`` with exit code 2. An ``EnvironmentFailure`` (disk full, permission
denied, out of memory, a closed output) is not the user's input and not a bug: exit code 4.
Anything else is a bug and exits with code 3.
"""


class ImbreportError(Exception):
    """A problem with the input or the options, explained in words the user can act on."""


class InputError(ImbreportError):
    """The data file cannot be read or does not fit the task."""


class ConfigError(ImbreportError):
    """An option or a configuration file value is invalid."""


class EnvironmentFailure(Exception):
    """The machine stopped the run (disk full, permission denied, out of memory): the cause in
    words; no output was changed."""


def short_error(exc: BaseException) -> str:
    """``TypeName: first line of the message`` (at most 300 characters), for a report or a note."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"
