"""The command server: `vb` commands without the second of imports each (the way Mercurial's chg works).

`vb server start` leaves a resident process that has imported everything a command needs. The
`vb` entry point, before importing anything heavy, hands its argv, environment, working
directory and its standard file descriptors (SCM_RIGHTS) to that server over a per-user Unix
socket; the server forks one fresh worker per command, which writes straight to the caller's
terminal or pipe and sends back the exit code. Whenever the server cannot be reached, is
stale, belongs to another user or does not answer in time, `vb` runs in-process as always.

Modules: `wire` (socket path, fingerprint, framing; stdlib only, imported on every run),
`client` (the entry point's side), `server` (the resident side, imported only by it).
"""
