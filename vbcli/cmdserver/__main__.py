"""`python -m vbcli.cmdserver [IDLE_SECONDS]`: the command server process (see `vb server start`)."""

import sys

from vbcli.cmdserver.server import main

main(sys.argv[1:])
