"""Sockets and command lines of a whole process tree, read from /proc (real tiny processes, no services)."""

import subprocess
import sys
import time

from ga4lake.stack.process import is_loopback, listening_sockets, tree_cmdlines

# a parent that declares nothing and a child that listens on every interface (like serve-logs did)
CHILD = (
    "import socket, time; s = socket.socket(); s.bind(('0.0.0.0', 0)); s.listen(1); "
    "print(s.getsockname()[1], flush=True); time.sleep(60)"
)


def test_a_descendants_undeclared_wildcard_socket_is_found():
    parent = subprocess.Popen(
        ["bash", "-c", f'{sys.executable} -c "{CHILD}"; true'], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(parent.stdout.readline())
        for _ in range(50):
            found = listening_sockets(parent.pid)
            if found:
                break
            time.sleep(0.1)
        ((pid, address, got_port),) = found
        assert pid != parent.pid and got_port == port and address == "0.0.0.0"
        assert not is_loopback(address)
        assert any("socket.socket()" in c for c in tree_cmdlines(parent.pid).values())
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait()


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.0.0.1")
