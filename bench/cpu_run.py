"""cpu_run.py FILE COMMAND [ARGS...]: runs the command and, when it ends, writes the CPU
seconds it used (user + system, as its parent sees them) to FILE. A SIGTERM or SIGINT is
passed on to the command, which the benchmarks use to stop smtp-sink."""

import resource
import signal
import subprocess
import sys

child = subprocess.Popen(sys.argv[2:])
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda n, _frame: child.send_signal(n))
rc = child.wait()
used = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write("%.3f\n" % (used.ru_utime + used.ru_stime))
sys.exit(rc if rc >= 0 else 128 - rc)
