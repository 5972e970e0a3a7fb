"""HiGHS solver instances that print nothing: the one place ``highspy.Highs`` is created.

HiGHS writes its banner ("Running HiGHS ...") to the process's standard output (file
descriptor 1, below Python's ``sys.stdout``) when the first ``Highs`` of a process is built, before
any option can be set. :func:`quiet_highs` builds that first instance with descriptor 1 pointed at
the null device, then turns ``output_flag`` off, so no solver output reaches the user or a
command's piped output.
"""

from __future__ import annotations

import os
import sys
import threading

import highspy

_LOCK = threading.Lock()
_banner_swallowed = False


def quiet_highs() -> highspy.Highs:
    """A new ``highspy.Highs`` with ``output_flag`` off; the first one's banner goes nowhere."""
    global _banner_swallowed
    with _LOCK:
        if _banner_swallowed:
            highs = highspy.Highs()
        else:
            sys.stdout.flush()
            saved = os.dup(1)
            try:
                with open(os.devnull, "wb") as null:
                    os.dup2(null.fileno(), 1)
                highs = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            _banner_swallowed = True
    highs.setOptionValue("output_flag", False)
    return highs
