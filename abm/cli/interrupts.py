"""A Ctrl-C held while a command loads its libraries, so that it still stops the command.

In the first second of ``abm run`` its libraries load (pandas, Mesa, highspy, numba with
llvmlite) and then, in the first hour, its compiled code (numba's cache, LLVM). CPython raises
a Ctrl-C (``KeyboardInterrupt``) at whatever Python code runs when it lands, and while modules
load that is often code whose exceptions go nowhere: importlib's callback that drops a module
lock (CPython prints "Exception ignored in ..." and the command carries on as if no key was
pressed), or a compiled extension's initialisation (highspy's becomes an ``ImportError`` and a
traceback).

:class:`InterruptHold` holds a Ctrl-C over that stretch: its SIGINT handler only notes the
signal, and :meth:`InterruptHold.release` (or leaving the context) puts CPython's default
handler back and raises the ``KeyboardInterrupt`` there, where the command catches it (one
line, exit 130). Who holds one, and until when:

- :func:`abm.cli.main`, while the parser and the command's module load;
- ``abm run`` and ``abm report``, until the end of the (first) run's first hour, through
  :class:`abm.market.progress.RunProgress` (about a second from the start with numba's cache).
  A run that has compiling to do (tens of seconds, the first run on a machine) lets a Ctrl-C
  through from the moment its bar says so (:meth:`InterruptHold.let_through`), and still
  raises one that was lost at the end of its first hour. ``abm run`` holds one again while
  matplotlib loads, after the run;
- ``abm frontier``, until its first budget is done: its first placement loads the compiled
  code (numba's cache; compiling it instead, the first time on a machine, takes about a second);
- ``abm check``, ``abm headroom``, ``abm sweep``, ``abm sweep report``, ``abm audit``,
  ``abm export pypsa`` and ``abm dashboard``, while their modules and input load (the sweep's
  and the audit's up to numba, which their bar's first frame would load), not in their work:
  a sweep's bar counts runs, and holding a Ctrl-C to the end of the first could take minutes.
  A serial sweep or audit (``--workers 1``) holds one on through its first run's first hour,
  which loads the compiled code in this process (``abm.sweeps.runner.run_plan``'s
  ``first_hour``), and lets it through from the moment its bar says it compiles.

A Python-level handler rather than a blocked signal mask (``signal.pthread_sigmask``): CPython
runs Python signal handlers in the main thread whichever thread the kernel chose, while a
mask is per thread; the threads the libraries start as they load (BLAS, numba) would keep
SIGINT blocked for good, and one already running would take the signal and have it raised in
the main thread at once.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType


class InterruptHold:
    """A context in which Ctrl-C (SIGINT) is noted and raised later (module docstring).

    Holds nothing (a no-op) outside the main thread, or where SIGINT is not handled by
    CPython's default handler (ignored, as in a background job, or handled by a program that
    calls ``abm.cli.main``). The default handler is back on every way out of the context.
    """

    def __init__(self) -> None:
        self.holding = False  # a Ctrl-C is noted only (True) or raised at once too (False)
        self.held = False  # one was noted while holding, not raised yet
        self.raised = False  # one was raised at once: lost if the run still gets to release
        self._installed = False

    def __enter__(self) -> InterruptHold:
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            signal.signal(signal.SIGINT, self._handler)
            self._installed = self.holding = True
        return self

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.holding:
            self.held = True
        else:
            self.raised = True
            raise KeyboardInterrupt

    def let_through(self) -> None:
        """From now on a Ctrl-C is raised at once (the run compiles: the wait could be long);
        one held so far is raised now."""
        self.holding = False
        if self.held:
            self.held = False
            raise KeyboardInterrupt

    def release(self) -> None:
        """Put the default handler back, and raise ``KeyboardInterrupt`` if a Ctrl-C was held
        meanwhile, or raised and lost (the run got here all the same). Again is harmless."""
        self._restore()
        if self.held or self.raised:
            self.held = self.raised = False
            raise KeyboardInterrupt

    def _restore(self) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self._installed = self.holding = False

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._restore()
        # one held is raised now, unless an exception (an error, a Ctrl-C) is already on its
        # way; one raised at once has been caught (or lost) where it landed
        if kind is None and self.held:
            self.held = False
            raise KeyboardInterrupt
