"""Whether `hub run` can listen on a port, and which local process holds it when it cannot.

An old server left on a port would answer `hub run`'s readiness probe as if it were the new one,
so `hub run` checks every port before it starts anything, and names the holder so that a person
knows what to stop. The holder is read from Linux's /proc: the socket's inode in
/proc/net/tcp{,6}, then the process that has this socket open. Elsewhere, or when the holder
belongs to another user (its open files cannot be read), it is unknown.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"  # the TCP state in /proc/net/tcp
COMMAND_WIDTH = 80


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str  # its command line, shortened


def check_can_listen(host: str, port: int) -> None:
    """Binds `host:port` as the web servers will (with SO_REUSEADDR, so a port whose last
    connections are in TIME_WAIT counts as free) and lets it go; raises the OSError binding
    raises."""
    family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)


def holder_of(port: int) -> Holder | None:
    """The process holding a socket on local `port`, or None if it cannot be found. A web
    server's main process and its workers may share the listening socket: the topmost, whose
    parent does not hold it, is the one to name."""
    inodes = _socket_inodes(port)
    if not inodes:
        return None
    holders = {pid for pid, inode in _open_sockets() if inode in inodes}
    if not holders:
        return None
    pid = min(holders, key=lambda pid: (_parent_of(pid) in holders, pid))
    command = _command_of(pid)
    return None if command is None else Holder(pid, command)


def _socket_inodes(port: int) -> set[str]:
    """The inodes of the TCP sockets on local `port`: the listening ones, or else any (a
    connection from that port holds it too)."""
    listening: set[str] = set()
    others: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if int(local.rsplit(":", 1)[1], 16) != port or inode == "0":
                continue
            (listening if state == LISTEN else others).add(inode)
    return listening or others


def _open_sockets() -> Iterator[tuple[int, str]]:
    """(pid, socket inode) for every socket open in a process whose files can be read."""
    for process in PROC.iterdir():
        if not process.name.isdigit():
            continue
        try:
            descriptors = os.listdir(process / "fd")
        except OSError:  # another user's process, or gone
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(process / "fd" / descriptor)
            except OSError:
                continue
            if target.startswith("socket:["):
                yield int(process.name), target[len("socket:[") : -1]


def _parent_of(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the name in parentheses may hold spaces


def _command_of(pid: int) -> str | None:
    """Its command line, the program without its folder, shortened to fit a line."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
        arguments = [argument.decode(errors="replace") for argument in raw if argument]
        arguments = arguments or [(PROC / str(pid) / "comm").read_text().strip()]
    except OSError:  # gone meanwhile
        return None
    command = " ".join(" ".join([Path(arguments[0]).name, *arguments[1:]]).split())
    return command if len(command) <= COMMAND_WIDTH else command[: COMMAND_WIDTH - 1] + "…"
