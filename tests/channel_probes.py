"""Worker probes for tests/test_attack_channels.py: one worker marks a kernel object, another looks.

Copied beside the worker (autograder.boundary.sandbox.Worker's `probes`), so it runs where a submission's code
runs, under the same filter. Standard library only. Each probe returns {"errno": name or None, ...}:
what the kernel said, so the test can tell "refused" from "nothing seen".
"""

import ctypes
import errno
import fcntl
import glob
import os
import select
import signal
import socket
import struct

_HELD = []  # file descriptors (and sockets) the sender keeps open while the receiver looks
_DNOTIFY_SIGNALS = []
_SIGNALS = []
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_SYS_FCNTL = 72  # x86_64
_F_OFD_GETLK, _F_OFD_SETLK = 36, 37
_HIGH_BITS = 1 << 32  # the kernel reads fcntl's command as 32 bits: a filter comparing 64 would miss it


def _shared_file(index):
    """A standard-library file every worker sees (the same inode in every sandbox)."""
    folder = os.path.dirname(os.__file__)
    names = sorted(name for name in os.listdir(folder) if name.endswith(".py"))
    return os.path.join(folder, names[index % len(names)])


def _flock_struct(kind):
    return struct.pack("hhqqi4x", kind, os.SEEK_SET, 0, 0, 0)


def _raw_fcntl(fd, command, kind):
    buffer = ctypes.create_string_buffer(_flock_struct(kind))
    result = _libc.syscall(ctypes.c_long(_SYS_FCNTL), fd, ctypes.c_ulong(command | _HIGH_BITS), buffer)
    if result < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return buffer.raw[:-1]  # without the NUL create_string_buffer adds


def _errno(exc):
    return errno.errorcode.get(exc.errno, str(exc.errno)) if isinstance(exc, OSError) else type(exc).__name__


def _run(action):
    try:
        return {"errno": None, "seen": action()}
    except OSError as exc:
        return {"errno": _errno(exc), "seen": False}


def _sees_lock(path, get_command, high_bits=False):
    fd = os.open(path, os.O_RDONLY)
    try:
        if high_bits:
            answer = _raw_fcntl(fd, get_command, fcntl.F_WRLCK)
        else:
            answer = fcntl.fcntl(fd, get_command, _flock_struct(fcntl.F_WRLCK))
        return struct.unpack("hhqqi4x", answer)[0] != fcntl.F_UNLCK
    finally:
        os.close(fd)


def hold(mechanism, index, tag=""):
    """The sender: take or make the kernel object and keep it while this worker lives."""
    path = _shared_file(index)

    def act():
        if mechanism in ("flock", "posix", "ofd", "posix-high-bits", "lease"):
            fd = os.open(path, os.O_RDONLY)
            _HELD.append(fd)
            if mechanism == "flock":
                fcntl.flock(fd, fcntl.LOCK_SH)
            elif mechanism == "posix":
                fcntl.fcntl(fd, fcntl.F_SETLK, _flock_struct(fcntl.F_RDLCK))
            elif mechanism == "ofd":
                fcntl.fcntl(fd, _F_OFD_SETLK, _flock_struct(fcntl.F_RDLCK))
            elif mechanism == "posix-high-bits":
                _raw_fcntl(fd, fcntl.F_SETLK, fcntl.F_RDLCK)
            else:
                fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
        elif mechanism in ("inotify", "dnotify"):
            with open(path, "rb") as f:  # an open and a read: what the receiver's watch reports
                f.read(1)
        elif mechanism == "abstract-socket":
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(f"\0course-channel-{tag}")
            server.listen()
            _HELD.append(server)
        elif mechanism == "sysv-shm":
            _libc.shmget.restype = ctypes.c_int
            if _libc.shmget(ctypes.c_int(_key(tag)), ctypes.c_size_t(4096), 0o1000 | 0o666) < 0:
                raise OSError(ctypes.get_errno(), "shmget")
        elif mechanism == "tmp-file":
            for folder in ("/tmp", "/dev/shm", os.environ["TMPDIR"]):
                with open(os.path.join(folder, f"course-channel-{tag}"), "w") as f:
                    f.write("1")
        elif mechanism == "signal":  # SIGWINCH: ignored by default, harmless if the pid is the sender's own
            os.kill(int(tag), signal.SIGWINCH)
        elif mechanism == "proc-comm":
            if _libc.prctl(15, f"cc-{tag}"[:15].encode(), 0, 0, 0) != 0:  # PR_SET_NAME
                raise OSError(ctypes.get_errno(), "prctl")
        else:
            raise ValueError(mechanism)
        return True

    return _run(act)


def _key(tag):
    return sum(tag.encode()) * 7919 % (1 << 30) + 1


def prepare(mechanism, index, tag=""):
    """The receiver, before the sender acts (watches must exist before the event)."""
    path = _shared_file(index)

    def act():
        if mechanism == "inotify":
            fd = _libc.inotify_init1(os.O_NONBLOCK)
            if fd < 0:
                raise OSError(ctypes.get_errno(), "inotify_init1")
            _HELD.append(fd)
            if _libc.inotify_add_watch(fd, path.encode(), 0x20 | 0x1) < 0:  # IN_OPEN | IN_ACCESS
                raise OSError(ctypes.get_errno(), "inotify_add_watch")
        elif mechanism == "dnotify":
            signal.signal(signal.SIGIO, lambda *_: _DNOTIFY_SIGNALS.append(1))
            fd = os.open(os.path.dirname(path), os.O_RDONLY)
            _HELD.append(fd)
            fcntl.fcntl(fd, fcntl.F_NOTIFY, fcntl.DN_ACCESS | fcntl.DN_MULTISHOT)
        elif mechanism == "signal":
            signal.signal(signal.SIGWINCH, lambda *_: _SIGNALS.append(1))
            return os.getpid()  # where the sender aims
        return True

    return _run(act)


def observe(mechanism, index, tag=""):
    """The receiver: does it see what the sender did?"""
    path = _shared_file(index)

    def act():
        if mechanism == "flock":
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return False
            except BlockingIOError:
                return True
            finally:
                os.close(fd)
        if mechanism == "posix":
            return _sees_lock(path, fcntl.F_GETLK)
        if mechanism == "ofd":
            return _sees_lock(path, _F_OFD_GETLK)
        if mechanism == "posix-high-bits":
            return _sees_lock(path, fcntl.F_GETLK, high_bits=True)
        if mechanism == "inotify":
            if not _HELD:
                return False
            ready, _, _ = select.select([_HELD[-1]], [], [], 1.0)
            return bool(ready and os.read(_HELD[-1], 4096))
        if mechanism == "dnotify":
            select.select([], [], [], 1.0) if not _DNOTIFY_SIGNALS else None
            return bool(_DNOTIFY_SIGNALS)
        if mechanism == "abstract-socket":
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                client.connect(f"\0course-channel-{tag}")
                return True
            except ConnectionRefusedError:
                return False
            finally:
                client.close()
        if mechanism == "sysv-shm":
            _libc.shmget.restype = ctypes.c_int
            return _libc.shmget(ctypes.c_int(_key(tag)), ctypes.c_size_t(0), 0) >= 0
        if mechanism == "tmp-file":  # in /tmp, /dev/shm or the sender's own scratch folder (its TMPDIR)
            homes = os.path.dirname(os.path.dirname(os.environ["TMPDIR"]))
            found = [os.path.join(folder, f"course-channel-{tag}") for folder in ("/tmp", "/dev/shm")]
            found += glob.glob(os.path.join(homes, "*", "*", f"course-channel-{tag}"))
            return any(map(os.path.exists, found))
        if mechanism == "signal":
            select.select([], [], [], 0.5) if not _SIGNALS else None
            return bool(_SIGNALS)
        if mechanism == "proc-comm":
            names = []
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open(f"/proc/{pid}/comm") as f:
                            names.append(f.read().strip())
                    except OSError:
                        pass
            return f"cc-{tag}"[:15] in names
        raise ValueError(mechanism)

    return _run(act)


def flock_errno():
    """What flock on a standard-library file gives: the filter's answer."""
    fd = os.open(os.__file__, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except OSError as exc:
        return _errno(exc)
    finally:
        os.close(fd)


PROBES = {"hold": hold, "prepare": prepare, "observe": observe, "flock_errno": flock_errno}
