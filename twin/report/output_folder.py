"""Output folders: checked before the work, written atomically.

:func:`check_output_folder` is called by a command *before* it does any work: it fails
at once, with a one-line :class:`~twin.errors.OutputError`, when the folder is a file,
lies under a file, cannot be created or written (read-only), or the disk has less free
space than the outputs need.

:func:`staged_outputs` writes a command's outputs into a hidden staging folder inside
the output folder (so on the same file system), then moves each into place with
:func:`os.replace`. A file is therefore either the complete new one or absent: a write
that fails half-way (a full disk) leaves no truncated file, and the previous run's files
stay as they were. When it succeeds, the outputs a previous run left that this one did
not write (``owned`` names, e.g. a ``cap/`` folder of an earlier run with alerts) are
removed, so the folder holds exactly this run's outputs; files of other names are kept.
:func:`write_text_atomic` does the same for one file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from twin.errors import OutputError

__all__ = ["check_output_folder", "staged_outputs", "write_text_atomic"]

logger = logging.getLogger(__name__)

#: Bytes written (and synced) by the probe of :func:`check_output_folder`.
PROBE_BYTES = 64 * 1024
#: Prefix of the staging folders and temporary files (hidden, removed on failure).
TMP_PREFIX = ".twin-tmp-"


def _reason(exc: OSError) -> str:
    """An OS error in words, with what to do about it."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full; free some space or choose another output folder"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "it is read-only (no permission); choose a writable output folder"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder; choose another output folder"
    return f"{exc.strerror or exc}; choose another output folder"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _nearest_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output_folder(folder: str | Path, *, option: str = "--out", need_bytes: int = 0) -> Path:
    """Check that ``folder`` can take the outputs, before any work is done.

    Nothing is created: a folder that does not exist yet is checked through its nearest
    existing parent. A small file is written (and synced) there and removed again, which
    finds read-only folders and full disks that permissions alone do not show.

    Parameters
    ----------
    folder
        The output folder.
    option
        How the user named it (for the message), e.g. ``"--out"``.
    need_bytes
        Free space the outputs need [bytes] (an estimate; 0 skips the check).

    Returns
    -------
    Path
        ``folder`` as a :class:`~pathlib.Path`.

    Raises
    ------
    OutputError
        The folder is a file or lies under one, is not writable, or the disk is full.
    """
    folder = Path(folder)
    where = f"{option} {folder}"
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{where}: is a file, not a folder; give a folder path for {option}")
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise OutputError(
            f"{where}: {base} is a file, so no folder can be made under it; give another "
            f"path for {option}"
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".probe", dir=base)
    except OSError as exc:
        raise OutputError(f"{where}: cannot write in {base}: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\0" * PROBE_BYTES)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise OutputError(f"{where}: cannot write in {base}: {_reason(exc)}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    if need_bytes > 0:
        free = shutil.disk_usage(base).free
        if free < need_bytes:
            raise OutputError(
                f"{where}: the outputs need about {_size(need_bytes)} and only "
                f"{_size(free)} is free on that disk; free some space or choose another "
                f"folder for {option}"
            )
    return folder


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


@contextmanager
def staged_outputs(folder: str | Path, *, owned: Collection[str] = ()) -> Iterator[Path]:
    """A staging folder to write outputs into; moved into ``folder`` when all succeeded.

    Parameters
    ----------
    folder
        The output folder (created if needed).
    owned
        Names (files or folders, directly in ``folder``) that the command writes. On
        success, those a previous run left and this run did not write are removed.

    Yields
    ------
    Path
        The staging folder: write every output there, under its final name.

    Raises
    ------
    OutputError
        Writing failed with an OS error (disk full, read-only...); the staging folder is
        removed and ``folder`` keeps its previous contents.
    """
    folder = Path(folder)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=folder))
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write the outputs: {_reason(exc)}") from None
    try:
        yield stage
        written = sorted(p.name for p in stage.iterdir())
        for name in owned:
            old = folder / name
            if name not in written and (old.exists() or old.is_symlink()):
                logger.info("Removing %s, left by a previous run", old)
                _remove(old)
        for name in written:
            dest = folder / name
            if (stage / name).is_dir() and dest.exists():
                _remove(dest)  # a folder cannot replace a folder in one step
            os.replace(stage / name, dest)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # made here, and empty again
        if isinstance(exc, OutputError):  # already in words (write_text_atomic)
            text = str(exc).replace(str(stage), str(folder))
            raise OutputError(f"{text} (nothing in {folder} was replaced)") from None
        name = str(getattr(exc, "filename", None) or folder).replace(str(stage), str(folder))
        raise OutputError(
            f"{folder}: writing {name} failed, nothing was replaced: {_reason(exc)}"
        ) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder.

    The file is either the complete new text or, when writing fails, what it was
    before (no truncated file is left).

    Raises
    ------
    OutputError
        The file cannot be written (disk full, read-only...).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding=encoding) as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give the usual mode
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{path}: cannot write: {_reason(exc)}") from None
    return path
