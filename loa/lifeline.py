"""Children of `loa run` stop when it dies, even when it is killed with SIGKILL.

`loa run` starts each child in its own session (so Ctrl-C in the terminal
reaches only the supervisor, which stops them in order). The price: a
supervisor killed with ``kill -9`` left its worker, beat and HTTP server
running, and the next `loa run` found its port taken. Each child therefore
asks Linux for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), which
starts the same clean stop as the supervisor's own SIGTERM would.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from collections.abc import MutableMapping

log = logging.getLogger(__name__)

#: Set by the supervisor in its children's environment: the pid they must outlive not.
SUPERVISOR_PID_ENV = "LOA_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1


def follow_supervisor(environ: MutableMapping[str, str] = os.environ) -> bool:
    """In a child of `loa run`, arrange SIGTERM on the supervisor's death; True if armed.

    The variable is removed afterwards, so processes this child starts (which
    have another parent) do not take the supervisor for theirs.
    """
    value = environ.pop(SUPERVISOR_PID_ENV, None)
    if not value or not value.isdigit() or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    except (OSError, AttributeError) as exc:  # not fatal: Ctrl-C still stops everything
        log.warning("cannot follow the supervisor's lifetime: %s", exc)
        return False
    if os.getppid() != int(value):  # it died before the request was in place
        os.kill(os.getpid(), signal.SIGTERM)
    return True
