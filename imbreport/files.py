"""Writing outputs safely: checked before the run, written all-or-nothing, modes respected.

``check_outputs`` fails before any computation when an output cannot be written (a missing or
read-only folder, a name too long, a folder given as a file, an output that *is* an input).
``write_all`` writes every output to a temporary file beside it, then moves them into place; if
any step fails, the temporaries are removed and every output already moved is put back as it
was, so a run leaves either all new outputs or all old ones. New files get the mode the umask
allows (like any file a program creates); a replaced file keeps its mode.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Sequence

from imbreport.errors import ConfigError, EnvironmentFailure

TEMP_PREFIX = ".imbreport-"


def check_outputs(outputs: Sequence[str], inputs: Iterable[str | None] = ()) -> None:
    """Fail (``ConfigError``, exit 2) when an output cannot be written or is one of ``inputs``."""
    if list(outputs).count("-") > 1:
        raise ConfigError("'-o -' (JSON on stdout) can be given only once.")
    files = [path for path in outputs if path != "-"]
    _check_distinct(files)
    for path in files:
        _check_writable(path)
        for source in inputs:
            if source is not None and _same_file(path, source):
                raise ConfigError(
                    f"The output '{path}' is the input file '{source}'; writing it would destroy "
                    "the input. Choose another output name."
                )


def _check_distinct(files: list[str]) -> None:
    seen: dict[tuple, str] = {}
    for path in files:
        key = _identity(path)
        if key in seen:
            raise ConfigError(f"The outputs '{seen[key]}' and '{path}' are the same file.")
        seen[key] = path


def _identity(path: str) -> tuple:
    """What makes two output names one file: the existing file's device and inode, else the
    real path."""
    try:
        info = os.stat(path)
        return ("inode", info.st_dev, info.st_ino)
    except OSError:
        return ("path", os.path.realpath(path))


def _same_file(path: str, source: str) -> bool:
    try:
        return os.path.samefile(path, source)
    except OSError:  # either does not exist (yet)
        return False


def _check_writable(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    shown = os.path.dirname(path) or "."
    if not os.path.exists(folder):
        raise ConfigError(f"The output folder '{shown}' does not exist.")
    if not os.path.isdir(folder):
        raise ConfigError(f"The output folder '{shown}' is not a folder.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"The output folder '{shown}' is not writable.")
    if os.path.isdir(path):
        raise ConfigError(f"The output '{path}' is a folder; give a file name such as report.html.")
    name = os.path.basename(path)
    limit = _name_limit(folder)
    # the temporary file's name is longer than the output's: both must fit
    if len(os.fsencode(name)) > limit or len(os.fsencode(TEMP_PREFIX + name)) + 16 > limit:
        raise ConfigError(
            f"The output name '{name[:40]}…' is too long for its folder (at most {limit} bytes, "
            "less room for the temporary file)."
        )
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ConfigError(f"The output '{path}' exists and is not writable.")


def _name_limit(folder: str) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def write_atomic(path: str, content: bytes) -> None:
    """Write one file all-or-nothing (``write_all`` with a single output)."""
    write_all([(path, content)])


def write_all(items: Sequence[tuple[str, bytes]]) -> None:
    """Write every ``(path, content)`` or none: temporaries first, then moves; on any failure
    the temporaries are removed and moved outputs restored. Environment failures (disk full,
    permission denied) become an ``EnvironmentFailure`` naming the file and the cause."""
    temps: list[tuple[str, str]] = []
    backups: list[tuple[str, str | None]] = []  # outputs moved: (output, link to its old file)
    current = None
    try:
        for current, content in items:
            temps.append((current, _write_temp(current, content)))
        for current, temp in temps:
            backup = _keep_old(current)
            try:
                os.replace(temp, current)
            except BaseException:
                if backup is not None:
                    _remove(backup)  # this output was not changed: nothing to put back
                raise
            backups.append((current, backup))
    except BaseException as exc:
        stuck = _undo(temps, backups)
        if isinstance(exc, OSError):
            outcome = (
                "No output was changed."
                if not stuck
                else f"These outputs could not be put back as they were: {', '.join(stuck)}."
            )
            raise EnvironmentFailure(
                f"Could not write '{current}': {describe_os_error(exc)}. {outcome}"
            ) from exc
        raise
    for _, backup in backups:
        if backup is not None:
            _remove(backup)


def _write_temp(path: str, content: bytes) -> str:
    folder = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, _mode_for(path))
    except BaseException:
        _remove(temp)
        raise
    return temp


def _mode_for(path: str) -> int:
    """A replaced file's own mode; a new file's, what the umask allows of 0666."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask (read without changing it where Linux allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _keep_old(path: str) -> str | None:
    """A hard link to the file ``path`` holds now (to put it back), ``None`` if there is none."""
    if not os.path.lexists(path):
        return None
    folder = os.path.dirname(os.path.abspath(path))
    backup = tempfile.mktemp(prefix=TEMP_PREFIX, suffix=".old", dir=folder)
    try:
        os.link(path, backup, follow_symlinks=False)
    except OSError:  # a file system without hard links: a copy does as well
        shutil.copy2(path, backup, follow_symlinks=False)
    return backup


def _undo(temps: list[tuple[str, str]], backups: list[tuple[str, str | None]]) -> list[str]:
    """Put every moved output back as it was and remove the temporaries; the outputs that could
    not be put back (their new content stays, and the old one in a ``.old`` file beside it)."""
    stuck = []
    for path, backup in reversed(backups):
        try:
            if backup is None:  # there was no file: remove the new one
                os.unlink(path)
            else:
                os.replace(backup, path)
        except FileNotFoundError:
            pass
        except OSError:
            stuck.append(path)
    for _, temp in temps:
        _remove(temp)
    return stuck


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def describe_os_error(exc: OSError) -> str:
    """The cause of an environment failure in words, with what to do about it."""
    hints = {
        errno.ENOSPC: "the disk is full; free space and run again",
        errno.EDQUOT: "the disk quota is exceeded; free space and run again",
        errno.EACCES: "permission denied",
        errno.EPERM: "the operation is not permitted (an immutable or protected file?)",
        errno.ENAMETOOLONG: "the file name is too long",
        errno.EROFS: "the file system is read-only",
        errno.EPIPE: "the output was closed by the program reading it",
    }
    return hints.get(exc.errno, exc.strerror or type(exc).__name__)
