"""Text files given by the user: UTF-8 text, not binary, not another encoding.

A scenario (or settings) file is read as UTF-8. :func:`check_text_file` says, before the
YAML parser runs, what is wrong with a file that is not: a binary file, or text in
another encoding (GBK/GB18030, common for files saved by Chinese-locale editors), with
the line of the first offending byte and what to do.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["check_text_file"]

#: Control characters that never occur in a text file (tab, newline and CR excepted).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def check_text_file(path: Path, error: type[Exception], *, what: str = "scenario") -> None:
    """Check that ``path`` holds UTF-8 text; a missing file is left to the reader.

    Parameters
    ----------
    path
        The file.
    error
        The exception class raised (a :class:`~twin.errors.TwinError` subclass).
    what
        What the file is, for the message.

    Raises
    ------
    error
        The file is binary or not UTF-8; the message gives ``file:line``, the byte and
        how to fix it.
    """
    try:
        data = path.read_bytes()
    except OSError:
        return  # missing or unreadable: the YAML reader says so
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"{path}:{_line_of(data, exc.start)}"
        byte = data[exc.start]
        if b"\0" not in data and _decodes(data, "gb18030"):
            raise error(
                f"{where}: the {what} file is not UTF-8 (byte 0x{byte:02x}; it reads as "
                f"GBK/GB18030); save it as UTF-8, e.g. `iconv -f GB18030 -t UTF-8 "
                f"{path.name} > fixed.yaml`"
            ) from None
        raise error(
            f"{where}: not a text file (byte 0x{byte:02x} at offset {exc.start}); a "
            f"{what} file is UTF-8 YAML text, like those in scenarios/"
        ) from None
    bad = _CONTROL.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise error(
            f"{path}:{line}: not a text file (control character U+{ord(bad.group()):04X}); "
            f"a {what} file is UTF-8 YAML text, like those in scenarios/"
        )


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
