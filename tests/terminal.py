"""Commands started as a terminal starts them in its foreground: with SIGINT at its default.

A shell starts a background job (``pytest ... &`` in a script, ``nohup``) with SIGINT ignored,
and an ignored signal stays ignored across ``fork`` and ``exec``: every process the tests
start would then ignore the Ctrl-C (SIGINT) a test sends it, as CPython leaves an inherited
"ignore" alone. A shell gives a foreground command the default disposition, and so does
:func:`foreground`, as ``preexec_fn`` of ``subprocess.Popen`` (it runs in the child, between
``fork`` and ``exec``)."""

from __future__ import annotations

import signal


def foreground() -> None:
    """SIGINT at its default disposition in this process (a child about to ``exec``)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
