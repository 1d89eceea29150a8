"""Progress reporting without a hard dependency.

Long steps take an optional ``progress`` callback, ``progress(done, total)``,
called with the units done so far (blocks scored, sweeps run, ingestion
stages finished) and the total when known. The library never draws anything
itself: it calls the callback, or nothing when there is none. The command line passes a
:class:`ProgressBar`, which draws a bar on stderr only when stderr is a
terminal (nothing in a pipe, a log file or under ``--quiet``); it uses
``tqdm`` when it is installed and a one-line bar otherwise.

Examples
--------
>>> import io
>>> seen = []
>>> def run(n, progress=None):
...     for i in range(n):
...         if progress is not None:
...             progress(i + 1, n)
>>> run(3, progress=lambda done, total: seen.append((done, total)))
>>> seen
[(1, 3), (2, 3), (3, 3)]
>>> stream = io.StringIO()          # not a terminal: the bar draws nothing
>>> with ProgressBar("scoring", stream=stream) as bar:
...     run(3, progress=bar)
>>> stream.getvalue()
''
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

#: ``progress(done, total)``: units done so far and the total (None if unknown).
ProgressCallback = Callable[[int, "int | None"], None]


def check_progress(progress: Any, field: str = "progress") -> ProgressCallback | None:
    """``progress`` if it is None or callable, else a ValidationError naming it."""
    if progress is not None and not callable(progress):
        from onetoone.errors import ValidationError

        raise ValidationError(
            f"{field} must be None or a callable progress(done, total), got "
            f"{type(progress).__name__}",
            field=field,
        )
    return progress  # type: ignore[no-any-return]


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):
        return False


class ProgressBar:
    """A progress callback that draws on a terminal, and nowhere else.

    Parameters
    ----------
    desc : str
        What is running, shown before the bar.
    enabled : bool or None
        None (default): draw only when ``stream`` is a terminal. False: never
        (``--quiet``). True: always (tests).
    stream : text stream
        Default ``sys.stderr`` (never stdout: it carries ``--json`` output).
    """

    def __init__(
        self, desc: str, *, enabled: bool | None = None, stream: TextIO | None = None
    ) -> None:
        self.desc = desc
        self.stream = sys.stderr if stream is None else stream
        self.enabled = _is_terminal(self.stream) if enabled is None else bool(enabled)
        self._tqdm: Any = None
        self._last = 0.0
        self._drawn = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __call__(self, done: int, total: int | None = None) -> None:
        """Report ``done`` units of ``total``."""
        if not self.enabled:
            return
        if self._tqdm is None and self._drawn is False:
            try:
                tqdm = importlib.import_module("tqdm").tqdm
            except ImportError:
                self._tqdm = False
            else:
                self._tqdm = tqdm(desc=self.desc, total=total, file=self.stream, leave=False)
        if self._tqdm:
            if total is not None and self._tqdm.total != total:
                self._tqdm.total = total
            self._tqdm.update(done - self._tqdm.n)
            return
        now = time.monotonic()
        if now - self._last < 0.1 and (total is None or done < total):
            return
        self._last = now
        self._drawn = True
        if total:
            width = 30
            filled = int(width * min(done, total) / total)
            line = f"{self.desc} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        else:
            line = f"{self.desc} {done}"
        self.stream.write("\r" + line)
        self.stream.flush()

    def close(self) -> None:
        """Clear the bar."""
        if self._tqdm:
            self._tqdm.close()
        elif self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
        self._tqdm = None
        self._drawn = False
