"""Network topology for partition faults: every member gets its own network namespace, joined
by a veth pair to one bridge in the root namespace (where etcd, HAProxy and the test run).
Cutting a member's link (`ip link set <veth> down`) isolates it from etcd, the other members
and the clients at once; bringing it up heals the partition.

Addresses are ONLY 10.200.0.0/24 (the bridge is 10.200.0.1, members 10.200.0.10+i): these are
test hosts inside this machine. One fault session at a time owns the subnet; a lock file names
its pid so a later session removes what a crashed one left behind."""

import os
import subprocess

from ..support import pid_alive

SUBNET_PREFIX = "10.200.0"
BRIDGE_ADDRESS = f"{SUBNET_PREFIX}.1"
LOCK_PATH = "/tmp/staz-faults-netns.lock"


class NetnsUnavailable(RuntimeError):
    """`ip netns` / veth / bridge cannot be used here (not root, no CAP_NET_ADMIN...)."""


def ip(*args, namespace=None, check=True):
    command = (["ip", "netns", "exec", namespace, "ip"] if namespace else ["ip"]) + list(args)
    done = subprocess.run(command, capture_output=True, text=True, timeout=15)
    if check and done.returncode != 0:
        raise NetnsUnavailable(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done


class Topology:
    """The bridge plus one namespace per member. Names carry a short tag so leftovers of a
    crashed session are recognisable (`fzbr<tag>`, `fzns<tag>-<i>`, `fzv<tag>x<i>`)."""

    def __init__(self):
        self.tag = f"{os.getpid() % 100000:05d}"
        self.bridge = f"fzbr{self.tag}"
        self.namespaces = {}  # member name -> (namespace, root-side veth, address)
        _take_lock()
        remove_leftovers()
        try:
            ip("link", "add", self.bridge, "type", "bridge", "forward_delay", "0")
            ip("addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", self.bridge)
            ip("link", "set", self.bridge, "up")
        except NetnsUnavailable:
            self.destroy()
            raise

    def add(self, name):
        """Creates the namespace of member `name`; returns its address."""
        index = len(self.namespaces)
        namespace, outside, inside = (f"fzns{self.tag}-{index}", f"fzv{self.tag}x{index}",
                                      f"fzp{self.tag}x{index}")
        address = f"{SUBNET_PREFIX}.{10 + index}"
        ip("netns", "add", namespace)
        self.namespaces[name] = (namespace, outside, address)
        ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        ip("link", "set", inside, "netns", namespace)
        ip("link", "set", outside, "master", self.bridge)
        ip("link", "set", outside, "up")
        ip("addr", "add", f"{address}/24", "dev", inside, namespace=namespace)
        ip("link", "set", inside, "up", namespace=namespace)
        ip("link", "set", "lo", "up", namespace=namespace)
        return address

    def namespace_of(self, name):
        return self.namespaces[name][0]

    def address_of(self, name):
        return self.namespaces[name][2]

    def cut(self, name):
        ip("link", "set", self.namespaces[name][1], "down")

    def heal(self, name):
        ip("link", "set", self.namespaces[name][1], "up")

    def destroy(self):
        for namespace, outside, _ in self.namespaces.values():
            ip("link", "del", outside, check=False)
            ip("netns", "del", namespace, check=False)
        self.namespaces = {}
        ip("link", "del", self.bridge, check=False)
        try:
            if open(LOCK_PATH).read().strip() == str(os.getpid()):
                os.unlink(LOCK_PATH)
        except OSError:
            pass


def _take_lock():
    """One fault session at a time owns 10.200.0.0/24; a dead owner's lock is taken over."""
    for _ in range(2):
        try:
            descriptor = os.open(LOCK_PATH, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = int(open(LOCK_PATH).read().strip() or 0)
            except (OSError, ValueError):
                owner = 0
            if owner and owner != os.getpid() and pid_alive(owner):
                raise NetnsUnavailable(f"another fault session (pid {owner}) owns the "
                                       f"10.200.0.0/24 test network ({LOCK_PATH})")
            os.unlink(LOCK_PATH)
            continue
        with os.fdopen(descriptor, "w") as handle:
            handle.write(str(os.getpid()))
        return
    raise NetnsUnavailable(f"cannot take {LOCK_PATH}")


def remove_leftovers():
    """Deletes fz* namespaces, veths and bridges of earlier (crashed) sessions; only called
    while holding the lock, so nothing of a live session is touched."""
    namespaces = ip("netns", "list", check=False).stdout.split("\n")
    for line in namespaces:
        name = line.split(" ")[0]
        if name.startswith("fzns"):
            for pid in ip("netns", "pids", name, check=False).stdout.split():
                subprocess.run(["kill", "-9", pid], capture_output=True)
            ip("netns", "del", name, check=False)
    for line in ip("-o", "link", "show", check=False).stdout.splitlines():
        device = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if device.startswith(("fzbr", "fzv")):
            ip("link", "del", device, check=False)
