"""CPU priority for the processes of one machine's deployment."""

import logging
import os

logger = logging.getLogger(__name__)


def cpu_priority_change(steps: int) -> bool:
    """Run this process and what it starts `steps` nice levels lower (positive: below normal;
    negative: above, which needs CAP_SYS_NICE). Linux's autogroups weigh each session as a
    whole against the others, whatever its processes' own nice values, so a session leader
    (as under a process manager) changes its session's too. False when it was not allowed."""
    if steps == 0:
        return True
    try:
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + steps)
    except PermissionError:
        return False
    if os.getsid(0) == os.getpid():
        try:
            with open("/proc/self/autogroup", "w") as autogroup:
                autogroup.write(str(steps))
        except OSError:  # no autogroups here: the process's own nice is what counts
            pass
    return True
