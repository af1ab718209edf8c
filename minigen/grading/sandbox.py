"""Confining the worker with the operating system's own mechanisms, not with Python tricks.

``confine`` runs inside the worker, after NumPy and minigen are imported and before
the student's file is read:

- a private tmpfs as its scratch folder, so that all it may write is bounded in total;
- resource limits (``setrlimit``): CPU seconds, address space, the size of any file
  written (this bounds output floods), the number of processes, no core files;
- Landlock, on Linux kernels that have it: the worker may read the Python
  installation, minigen's package and the system libraries, list the folders on
  ``sys.path``, and write only its scratch folder. Where the kernel's Landlock has
  network rules (ABI 4+) it may open no TCP connection, and where it has scopes
  (ABI 6+) it may not signal processes outside its sandbox, such as the grader;
- as root, where ``RLIMIT_NPROC`` does not apply, a pids cgroup bounds the number of
  processes instead (``make_pids_cgroup``, made by the grader).

Each mechanism that is missing is reported, not papered over: the grader says so once.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import sysconfig
from pathlib import Path

try:
    import resource                     # POSIX only
except ImportError:                     # pragma: no cover - Windows: confine() reports the limits missing
    resource = None

__all__ = ["confine", "allowed_paths", "make_pids_cgroup", "remove_cgroup", "user_tasks"]

_CGROUP_ROOTS = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/pids"]
_SYSTEM_LIBS = ["/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib", "/usr/share/zoneinfo"]


# ---------------------------------------------------------------------------- the grader's side

def allowed_paths(package_dir) -> tuple[list, list]:
    """(folders the worker may read, folders it may only list) for this Python installation."""
    read = set(_SYSTEM_LIBS) | {str(package_dir)}
    for scheme_vars in ({}, {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}):
        paths = sysconfig.get_paths(vars=scheme_vars) if scheme_vars else sysconfig.get_paths()
        read |= {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    read = sorted(p for p in read if os.path.isdir(p))
    listed = sorted({p for p in sys.path + [str(Path(package_dir).parent)]
                     if p and os.path.isdir(p) and p not in read})
    return read, listed


def user_tasks(uid: int) -> int:
    """How many processes and threads ``uid`` runs now (what RLIMIT_NPROC counts); 0 without /proc."""
    if not os.path.isdir("/proc"):
        return 0
    n = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    n += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                continue
    return n


def make_pids_cgroup(limit: int):
    """A fresh cgroup allowing at most ``limit`` processes, or None where we may not make one."""
    if os.geteuid() != 0:
        return None
    for root in _CGROUP_ROOTS:
        if not (os.path.isfile(os.path.join(root, "cgroup.procs")) and os.access(root, os.W_OK)):
            continue
        if root != "/sys/fs/cgroup/pids" and "pids" not in _read(os.path.join(root, "cgroup.subtree_control")):
            continue
        path = os.path.join(root, f"minigen-grade-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            os.mkdir(path)
            with open(os.path.join(path, "pids.max"), "w") as f:
                f.write(str(limit))
            return path
        except OSError:
            remove_cgroup(path)
    return None


def remove_cgroup(path):
    """Kill whatever is left in the cgroup, then remove it."""
    if not path or not os.path.isdir(path):
        return
    for _ in range(100):
        pids = [int(p) for p in _read(os.path.join(path, "cgroup.procs")).split()]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os.sched_yield()
    try:
        os.rmdir(path)
    except OSError:
        pass


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


# ---------------------------------------------------------------------------- the worker's side

def confine(*, stage, scratch, room, read, listed, cpu_seconds, memory_bytes, file_bytes, processes,
            cgroup=None) -> dict:
    """Confine this process (the worker) for good; returns what could not be applied, as reasons.

    The submission's files wait in ``stage``; they are copied into ``scratch``, which is first made a
    private tmpfs with ``room`` bytes to spare where the system allows it, so that what the worker
    writes is bounded in total, not only file by file.
    """
    missing = {}
    root = hasattr(os, "geteuid") and os.geteuid() == 0           # before a user namespace makes anyone root
    if cgroup:
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    staged = [e for e in os.scandir(stage) if e.is_file(follow_symlinks=False)]
    reason = _private_tmpfs(scratch, sum(e.stat().st_size for e in staged) + room)
    if reason:
        missing["disk"] = reason
    for entry in staged:
        with open(entry.path, "rb") as src, open(os.path.join(scratch, entry.name), "wb") as dst:
            dst.write(src.read())
    os.chdir(scratch)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # an oversized write fails instead of killing
    limits = {"RLIMIT_CPU": (cpu_seconds, cpu_seconds + 5), "RLIMIT_AS": (memory_bytes, memory_bytes),
              "RLIMIT_FSIZE": (file_bytes, file_bytes), "RLIMIT_NPROC": (processes, processes),
              "RLIMIT_CORE": (0, 0)}
    for name, (soft, hard) in limits.items():
        if resource is None or not hasattr(resource, name):
            missing[name] = "not available on this system"
            continue
        _, old_hard = resource.getrlimit(getattr(resource, name))
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        resource.setrlimit(getattr(resource, name), (soft, hard))
    if root and not cgroup:
        missing["processes"] = "running as root, where the kernel ignores RLIMIT_NPROC, and no pids cgroup"
    for name, apply in (("landlock", lambda: _landlock(read, listed, scratch)), ("seccomp", _seccomp),
                        ("capabilities", _drop_capabilities)):
        reason = apply()
        if reason:
            missing[name] = reason
    return missing


def _private_tmpfs(path, size):
    """Mount a tmpfs of ``size`` bytes on ``path``, seen by this process alone; None, or why not.

    As root a private mount namespace is enough; otherwise a user namespace (where the
    system allows them) makes this process root of its own mounts, with the same rights
    on every file as before.
    """
    if not sys.platform.startswith("linux"):
        return f"no private tmpfs on {sys.platform}: total disk use is bounded by time only"
    libc = ctypes.CDLL(None, use_errno=True)
    newns, newuser = 0x00020000, 0x10000000                      # CLONE_NEWNS, CLONE_NEWUSER
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(newns if uid == 0 else newns | newuser) != 0:
        return f"no private mount namespace ({os.strerror(ctypes.get_errno())}): total disk use is bounded by time only"
    if uid != 0:
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    private, nosuid, nodev, noexec = 1 << 18 | 0x4000, 2, 4, 8   # MS_PRIVATE | MS_REC, MS_NOSUID, ...
    if libc.mount(None, b"/", None, private, None) != 0 or \
            libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", nosuid | nodev | noexec,
                       f"size={int(size)},mode=0700".encode()) != 0:
        return f"no private tmpfs ({os.strerror(ctypes.get_errno())}): total disk use is bounded by time only"
    return None


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


_NET_TCP = 1 | 2                     # LANDLOCK_ACCESS_NET_BIND_TCP | CONNECT_TCP (ABI 4)
_SCOPES = 1 | 2                      # LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | SIGNAL (ABI 6)


def _landlock(read, listed, scratch):
    """Apply the Landlock rules; None on success, else why not."""
    if not sys.platform.startswith("linux"):
        return f"Landlock is Linux only (this is {sys.platform})"
    try:
        import landlock
        from landlock.plumbing import PR_SET_NO_NEW_PRIVS, PathBeneathAttr, RulesetAttr, get_add_rule, \
            get_create_ruleset, get_prctl, get_restrict_self
    except ImportError:
        return "the landlock package is not installed (pip install landlock)"
    try:
        abi = landlock.landlock_abi_version()
    except Exception as e:   # noqa: BLE001 - the package raises OSError subclasses with reasons
        return f"this kernel has no Landlock ({str(e).splitlines()[0]})"
    FS = landlock.FSAccess
    everything = FS.all()
    attr = _RulesetAttr(int(everything), _NET_TCP if abi >= 4 else 0, _SCOPES if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = get_create_ruleset()(ctypes.cast(ctypes.pointer(attr), ctypes.POINTER(RulesetAttr)), size, 0)
    add_rule = get_add_rule()

    def allow(path, rights):
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not os.path.isdir(path):
                rights &= int(FS.all_file())
            add_rule(ruleset, 1, ctypes.byref(PathBeneathAttr(rights, fd)), 0)
        finally:
            os.close(fd)

    for p in read:
        allow(p, int(FS.READ_FILE | FS.READ_DIR))
    for p in listed:
        allow(p, int(FS.READ_DIR))
    allow(os.devnull, int(FS.READ_FILE | FS.WRITE_FILE))
    devices = FS.EXECUTE | FS.MAKE_CHAR | FS.MAKE_BLOCK | (FS.IOCTL_DEV if abi >= 5 else 0)
    allow(scratch, int(everything & ~devices))                # no programs, no device nodes
    get_prctl()(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    get_restrict_self()(ruleset, 0)
    os.close(ruleset)
    return None


# ---------------------------------------------------------------------------- seccomp and capabilities
#
# Landlock does not cover a file's metadata (chmod, chown, utime, extended attributes),
# and a worker running as root keeps its capabilities (loading a kernel module, say).
# A seccomp filter refuses those system calls with EPERM, and the capabilities are
# dropped; the kernel never gives them back to this process.

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_REFUSED = {
    # chmod fchmod chown fchown lchown mknod utime utimes futimesat fchownat fchmodat mknodat utimensat
    # fchmodat2, set/removexattr (6, and the *at forms), init/finit/delete_module, kexec_load/file_load,
    # ptrace, process_vm_writev, open_by_handle_at
    "x86_64": [90, 91, 92, 93, 94, 133, 132, 235, 261, 260, 268, 259, 280, 452, 188, 189, 190, 197, 198, 199,
               463, 466, 175, 313, 176, 246, 320, 101, 311, 304],
    "aarch64": [52, 53, 54, 55, 33, 88, 452, 5, 6, 7, 14, 15, 16, 463, 466, 105, 273, 106, 104, 294, 117, 271, 265],
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _seccomp():
    """Refuse the system calls in _REFUSED (and any call of another architecture); None, or why not."""
    machine = os.uname().machine if sys.platform.startswith("linux") else "?"
    if machine not in _AUDIT_ARCH:
        return f"no seccomp filter for {sys.platform} on {machine}"
    load_arch, load_nr, jump, ret = (0x20, 4), (0x20, 0), 0x15, 0x06
    allow, refuse = 0x7FFF0000, 0x00050000 | 1                         # SECCOMP_RET_ALLOW, RET_ERRNO | EPERM
    calls = _REFUSED[machine]
    code = [(load_arch[0], 0, 0, load_arch[1]), (jump, 1, 0, _AUDIT_ARCH[machine]), (ret, 0, 0, refuse),
            (load_nr[0], 0, 0, load_nr[1]), (0x35, len(calls) + 1, 0, 0x40000000)]    # x32 numbers: refuse
    code += [(jump, len(calls) - i, 0, nr) for i, nr in enumerate(calls)]
    code += [(ret, 0, 0, allow), (ret, 0, 0, refuse)]
    program = (_SockFilter * len(code))(*[_SockFilter(*c) for c in code])
    fprog = _SockFprog(len(code), program)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:   # NO_NEW_PRIVS, SECCOMP
        return f"seccomp refused the filter ({os.strerror(ctypes.get_errno())})"
    return None


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities():
    """Give up every capability (what makes root more than the owner of its files); None, or why not."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    data = (_CapData * 2)()
    if libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), data) != 0:     # _LINUX_CAPABILITY_VERSION_3
        return f"capset failed ({os.strerror(ctypes.get_errno())})"
    return None
