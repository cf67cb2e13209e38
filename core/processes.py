"""Is a process that claimed work still alive? (forecast runs and background jobs record the
host and pid of the process doing them; a dead one's work is taken up again.)"""

from __future__ import annotations

import os
import socket


def here() -> str:
    """This machine's host name, as claims record it."""
    return socket.gethostname()


def alive_here(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
