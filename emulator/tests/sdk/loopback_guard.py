"""Nothing may leave the machine: importing this module makes every DNS lookup of a host other
than loopback fail (socket.getaddrinfo), and lists the hosts that were tried in OUTSIDE, so a
check can assert that the SDK under test found every endpoint among the emulator's."""

import socket
import sys
from pathlib import Path

SCRIPT = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "sdk"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_real_getaddrinfo = socket.getaddrinfo
OUTSIDE = []


def _guarded_getaddrinfo(host, *args, **kwargs):
    h = host.decode() if isinstance(host, bytes) else str(host)
    if h not in _LOOPBACK:
        OUTSIDE.append(h)
        raise OSError(f"{SCRIPT}: refused to resolve non-local host {h!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _guarded_getaddrinfo
