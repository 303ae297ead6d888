"""The servers `hub run` starts as child processes, and how it keeps them in hand.

Before anything starts, every port is checked: an old server left on a port would answer the
readiness probe as if it were the new one, so a taken port is refused, naming the process that
holds it (`launcher.ports`). Once started, a server is ready when its health URL answers 200, and
watched: one that dies on its own stops the others.

Stopping always stops what was started:
- Ctrl-C (or SIGTERM) stops everything: servers get SIGTERM, then SIGKILL if they linger, and
  each server's process group is killed once its master has exited, so no worker survives it.
- A further signal while stopping (a second Ctrl-C; `make` passing on the SIGTERM sent to its
  process group) hurries the stop: the servers are killed at once. The signal handler only
  records signals and kills; it never raises, so it cannot break off a stop under way.
- Each server has its own session, so a terminal's Ctrl-C and a signal to `make run`'s group
  reach `hub run` only, which stops them in order; and on Linux the kernel sends each one
  SIGTERM if `hub run` dies without stopping it (SIGKILL, a crash): PR_SET_PDEATHSIG.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from types import FrameType
from urllib.parse import urlsplit

import requests

from hub.polling import PollingWorker
from idp.cli.output import fail_usage
from launcher import ports
from launcher.parent_death import PR_SET_PDEATHSIG

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
WORKER_STOP_TIMEOUT = 15.0
PAUSE_STEP = 0.05  # how soon a waiting loop sees a stop asked by a signal


class Stop(Exception):
    """A stop was asked for (Ctrl-C, SIGTERM): raised by the loops that wait for one, never by
    the signal handler."""


def dying_with_parent(signum: signal.Signals) -> Callable[[], None] | None:
    """Popen's `preexec_fn` on Linux: the kernel sends the child `signum` when `hub run` dies
    (its main thread, which starts the servers), even by SIGKILL. None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork, called after
    parent = os.getpid()

    def set_parent_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, int(signum))
        if os.getppid() != parent:  # `hub run` died before the kernel was told
            os._exit(1)

    return set_parent_death_signal


@dataclass
class Server:
    """A child process serving HTTP, ready once `health_url` answers 200. Should `hub run` die
    without stopping it, the kernel sends it `on_parent_death`: SIGTERM, a graceful stop, unless
    the server cannot be trusted to stop on it with nobody left to insist."""

    name: str
    argv: Sequence[str]
    url: str
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    on_parent_death: signal.Signals = signal.SIGTERM
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens: its health URL is always the bound address."""
        bound = urlsplit(self.health_url)
        if bound.hostname is None or bound.port is None:
            raise ValueError(f"no host and port in {self.health_url}")
        return bound.hostname, bound.port

    def start(self) -> None:
        """Its own session (see the module's docstring); `preexec_fn` runs between fork and
        exec, safe only while `hub run` has no other thread: servers start first."""
        self.process = subprocess.Popen(  # noqa: S603 - argv built here, not from input
            self.argv,
            env=os.environ | self.env,
            start_new_session=True,
            preexec_fn=dying_with_parent(self.on_parent_death),
        )

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def answers(self) -> bool:
        try:
            return requests.get(self.health_url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def terminate(self) -> None:
        """SIGTERM to the main process: the web server's graceful stop of its workers."""
        if self.process is not None and self.process.returncode is None:
            with suppress(ProcessLookupError):
                self.process.terminate()

    def kill(self) -> None:
        """SIGKILL to its process group, the master and its workers at once. Safe from a signal
        handler: no lock is taken, and a group already gone is no error."""
        if self.process is None:
            return
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def wait(self, deadline: float) -> None:
        """Until it has exited, killed at `deadline` (`time.monotonic()`); then its group is
        killed, so that no worker outlives its master."""
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            self.process.wait()
        self.kill()


def refuse_taken_ports(servers: Sequence[Server]) -> None:
    """Exits with status 1, before anything starts, if a server could not listen on its port."""
    for server in servers:
        host, port = server.address
        try:
            ports.check_can_listen(host, port)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                fail_usage(
                    f"impossible d'écouter sur {host}:{port} ({server.name}) : "
                    f"{error.strerror} ; rien n'a été démarré.",
                    code=1,
                )
            holder = ports.holder_of(port)
            by = (
                "un autre programme"
                if holder is None
                else f"le processus {holder.pid} ({holder.command})"
            )
            fail_usage(
                f"le port {port} ({server.name}) est déjà pris par {by} : rien n'a été démarré.",
                code=1,
            )


@dataclass
class Shutdown:
    """What Ctrl-C and SIGTERM ask of `hub run`: the first signal asks for a stop, which the
    waiting loops turn into `Stop`; any further one, or one arriving once the stop has begun for
    another reason (a server that died), hurries it: the servers are killed at once.

    The signal handler only sets flags. It runs in the main thread between two bytecodes,
    possibly inside code holding a lock; setting a `threading.Event` there takes the Event's
    lock, which the main thread may already hold in `Event.wait`: `hub run` then never
    stopped (about one run in four, with the two SIGTERMs `make run` passes on)."""

    servers: Sequence[Server]
    asked: bool = False
    hurried: bool = False
    begun: bool = False

    def on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        if self.asked or self.begun:
            self.hurried = True
            for server in self.servers:
                server.kill()
        self.asked = True

    def raise_if_asked(self) -> None:
        if self.asked:
            raise Stop()

    def pause(self, seconds: float) -> None:
        """Sleeps, and raises `Stop` within `PAUSE_STEP` if a stop is asked for meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.asked and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(PAUSE_STEP, left))
        self.raise_if_asked()

    def linger(self, seconds: float) -> None:
        """Sleeps during a stop already asked for; cut short if the stop is hurried."""
        deadline = time.monotonic() + seconds
        while not self.hurried and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(PAUSE_STEP, left))

    def stop_servers(self) -> None:
        """SIGTERM to every server at once, then a common deadline for all, in reverse order."""
        self.begun = True
        for server in self.servers:
            server.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for server in reversed(self.servers):
            server.wait(deadline)

    def stop_workers(self, workers: Sequence[PollingWorker]) -> None:
        """Wakes every worker and waits for the passes under way, unless hurried: they are
        daemon threads, which end with `hub run`."""
        for worker in workers:
            worker.stop(timeout=0)
        deadline = time.monotonic() + WORKER_STOP_TIMEOUT
        for worker in workers:
            while not worker.stop(timeout=0.2):
                if self.hurried or time.monotonic() > deadline:
                    return


def wait_until_ready(
    servers: Sequence[Server], shutdown: Shutdown, timeout: float = READY_TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(servers)
    while waiting:
        shutdown.raise_if_asked()
        for server in list(waiting):
            code = server.exited()
            if code is not None:
                fail_usage(f"{server.name} s'est arrêté au démarrage (code {code}).", code=1)
            if server.answers():
                waiting.remove(server)
        if waiting and time.monotonic() > deadline:
            names = ", ".join(server.name for server in waiting)
            fail_usage(f"Délai dépassé : {names} ne répond pas.", code=1)
        shutdown.pause(0.2)


def watch(servers: Sequence[Server], shutdown: Shutdown) -> None:
    """Raises when a child exits, and `Stop` when Ctrl-C or SIGTERM asks for it."""
    while True:
        for server in servers:
            code = server.exited()
            if code is not None:
                fail_usage(f"{server.name} s'est arrêté (code {code}).", code=1)
        shutdown.pause(0.5)


@contextmanager
def signals_to(shutdown: Shutdown) -> Iterator[None]:
    """SIGINT is handled explicitly too: a shell script starting `hub run` in the background
    leaves it ignored, and Ctrl-C must still work from wherever the command was started."""
    stopping = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, shutdown.on_signal) for signum in stopping}
    try:
        yield
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)
