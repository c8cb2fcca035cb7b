"""A dependency-free progress display for the long waits: one rewritten line on a terminal, plain lines otherwise.

On a TTY each update replaces the line (`\\r` and clear-to-end); in CI logs and pipes an update is printed only
when its text changes and at most every `every` seconds, so a 20-minute wait stays a readable log.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    def __init__(
        self,
        stream: TextIO | None = None,
        tty: bool | None = None,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every = every
        self.clock = clock
        self._last_text = ""
        self._last_time = float("-inf")
        self._open = False

    def update(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._open = True
            return
        now = self.clock()
        if text != self._last_text and now - self._last_time >= self.every:
            self.stream.write(text + "\n")
            self.stream.flush()
            self._last_text, self._last_time = text, now

    def done(self, text: str) -> None:
        """End the current wait with a line that stays."""
        if self.tty and self._open:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self.stream.flush()
        self._open = False
        self._last_text, self._last_time = "", float("-inf")
