"""The trust boundary: a submission's sandboxed worker (worker/ runs inside it), its seccomp filter, and the
plain data exchanged with it."""
