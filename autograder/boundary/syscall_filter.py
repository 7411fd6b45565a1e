"""The seccomp filter every sandboxed worker runs under: no kernel object two workers could share.

Workers run at the same time (one per isolation mode of a submission, and other students' with
`--jobs`), and some hold reference code. Whatever one worker can change and another can observe is
a channel between them, even through files both may only read: a lock on a standard-library file,
an inotify watch on it, its pages in the page cache. Grading needs none of the system calls below,
so the filter built here (with libseccomp, in the trusted grader) makes each fail with EPERM:

- locks and file notifications: flock; fcntl's lock, lease and dnotify commands (compared on the
  low 32 bits, as the kernel reads the command); inotify; fanotify;
- page-cache residency: mincore, cachestat, preadv2/pwritev2 (RWF_NOWAIT), fadvise (eviction);
- sockets (abstract AF_UNIX, loopback), SysV IPC and POSIX message queues, keyrings;
- other processes' memory and events: ptrace, process_vm_*, pidfd_getfd, kcmp, perf_event_open,
  userfaultfd, bpf; and io_uring, whose operations (sockets, fadvise ...) bypass seccomp.

A system call of another ABI (i386's int 0x80, x32's numbers on x86_64) kills the worker: the filter
checks the architecture first, so no alternate numbering can skip it. bwrap loads the filter
(`--seccomp FD`) before the worker's interpreter starts; the "process" sandbox's worker loads it
itself (autograder/boundary/worker/main.py) before any student code is imported.
"""

from __future__ import annotations

import errno
import functools
import os

DENIED = (
    "flock", "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "fanotify_init", "fanotify_mark",
    "mincore", "cachestat", "preadv2", "pwritev2", "fadvise64", "fadvise64_64", "arm_fadvise64_64",
    "socket", "socketpair", "socketcall",
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semtimedop_time64", "semctl",
    "msgget", "msgsnd", "msgrcv", "msgctl", "ipc",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
    "mq_timedsend_time64", "mq_timedreceive_time64",
    "keyctl", "add_key", "request_key",
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", "perf_event_open", "userfaultfd",
    "bpf", "io_uring_setup", "io_uring_enter", "io_uring_register",
)
# fcntl commands (linux/fcntl.h): POSIX and OFD locks, leases, dnotify.
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_SETLEASE, F_GETLEASE, F_NOTIFY = 1024, 1025, 1026
DENIED_FCNTL = (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLEASE, F_GETLEASE, F_NOTIFY)


class FilterUnavailable(RuntimeError):
    """libseccomp (or its Python interface) is missing; the message says what to install."""


@functools.cache
def program() -> bytes:
    """The filter as a classic BPF program (struct sock_filter[]), for bwrap --seccomp or prctl."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as exc:  # OSError: pyseccomp found no libseccomp.so.2
        raise FilterUnavailable(f"the sandbox's seccomp filter needs libseccomp and pyseccomp ({exc}); "
                                "install libseccomp2 and `pip install pyseccomp`") from None
    denied = seccomp.ERRNO(errno.EPERM)
    syscall_filter = seccomp.SyscallFilter(seccomp.ALLOW)
    syscall_filter.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    for name in DENIED:
        try:
            syscall_filter.add_rule(denied, name)
        except (OSError, ValueError, RuntimeError):
            pass  # not a system call of this architecture
    for name in ("fcntl", "fcntl64"):
        for command in DENIED_FCNTL:
            try:
                syscall_filter.add_rule(denied, name, seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, command))
            except (OSError, ValueError, RuntimeError):
                pass
    read_fd = os.memfd_create("course-seccomp", os.MFD_CLOEXEC)
    with os.fdopen(read_fd, "w+b") as exported:
        syscall_filter.export_bpf(exported)
        exported.seek(0)
        return exported.read()


def pipe_with_program() -> int:
    """A pipe's read end holding the program (a few KiB: it fits the pipe), for a worker to inherit."""
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, program())
    finally:
        os.close(write_fd)
    return read_fd
