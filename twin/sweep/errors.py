"""Errors of sweeps and reports.

:class:`SweepError` follows the rule of :mod:`twin.errors`: it is a
:class:`~twin.errors.TwinError` and also the matching builtin, so the CLI prints it as one
line and exits with status 1.
"""

from __future__ import annotations

from twin.errors import TwinError

__all__ = ["SweepError"]


class SweepError(TwinError, RuntimeError):
    """A sweep could not run or be read.

    For example: no scheduler, no workers, every run failed, a folder that is neither a
    run nor a sweep folder, or an output format whose package is missing.
    """
