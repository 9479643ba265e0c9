"""The one free-port finder of the system tests: a port number that meridiand, its admin API or
a health target can bind right now. Code that can bind port 0 itself and read the port back
does that instead; everything that must know a port before it binds asks here."""

from __future__ import annotations

import socket
from typing import Iterable, Optional, Union

LOOPBACK = ("127.0.0.1", "::1")  # where test servers listen unless a test says otherwise


def family_of(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bind_everywhere(port: int, hosts: Iterable[str]) -> Optional[int]:
    """Bind UDP, then TCP, on each host in turn at `port` (0: the port the kernel gives the
    first bind); that port if every bind succeeded, else None. Every socket is closed again."""
    socks = []
    try:
        for host in hosts:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(family_of(host), kind)
                socks.append(s)
                if kind == socket.SOCK_STREAM:
                    # meridiand's listeners, the admin API and the health targets all set
                    # SO_REUSEADDR, so connections lingering in TIME_WAIT do not hold the port.
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((host, port))
                port = s.getsockname()[1]
        return port
    except OSError:
        return None
    finally:
        for s in socks:
            s.close()


def _host_list(hosts: Union[str, Iterable[str]]) -> list:
    return [hosts] if isinstance(hosts, str) else list(hosts)


def port_is_free(port: int, hosts: Union[str, Iterable[str]] = LOOPBACK) -> bool:
    """Whether UDP and TCP can both bind `port` on every one of `hosts` right now."""
    return _bind_everywhere(port, _host_list(hosts)) is not None


def find_free_port(
    hosts: Union[str, Iterable[str]] = LOOPBACK,
    *,
    candidates: Optional[Iterable[int]] = None,
    attempts: int = 100,
) -> int:
    """A port free for UDP and TCP on every one of `hosts` (one address or several).

    candidates: the port numbers to try, in order (e.g. a privileged range); by default the
    kernel picks one at each of `attempts` tries. The port is free when this returns, not
    later: whoever binds it must retry if another process took it meanwhile."""
    hosts = _host_list(hosts)
    tries = candidates if candidates is not None else (0 for _ in range(attempts))
    for port in tries:
        found = _bind_everywhere(port, hosts)
        if found is not None:
            return found
    raise RuntimeError(f"no port free for UDP and TCP on {', '.join(hosts)}")
