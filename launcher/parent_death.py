"""Linux's parent-death signal (prctl(2), `PR_SET_PDEATHSIG`): the kernel sends a process a
signal of its choosing when its parent dies.

A module of its own, importing nothing, because each web worker process asks for it
(`launcher.web_worker`) and should not load `hub run`'s machinery (`launcher.servers`, and the
commands and HTTP client behind it) for one constant.
"""

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
