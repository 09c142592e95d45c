"""A broadcast signal between the service's asyncio tasks (new data, new alerts)."""

from __future__ import annotations

import asyncio

__all__ = ["Broadcast"]


class Broadcast:
    """Wake every waiter at once; ``version`` counts the signals so far.

    A waiter that read ``version`` before looking for work passes it as ``seen``, and
    so cannot miss a signal sent in between. Use only from the event loop's thread.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.version = 0

    def notify(self) -> None:
        """Wake the current waiters."""
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None = None, *, seen: int | None = None) -> bool:
        """Wait for a signal after version ``seen`` (default: the next one).

        Returns
        -------
        bool
            False when ``timeout`` [s] passed first.
        """
        if seen is not None and seen != self.version:
            return True
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True
