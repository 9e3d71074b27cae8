# python3 with every object a malloc (PYTHONMALLOC=malloc): builds and
# drops lists of dicts until a signal ends it, after saying "ready PID"
# once the churn has begun.  For tests/integration/signals.sh's python3
# rounds and bench/sigterm_stress.sh.
import os
import sys


def churn():
    return [{"k": str(i), "v": [i, i * 2, (i, "x" * (i % 9))]} for i in range(3000)]


rows = churn()
sys.stdout.write("ready %d\n" % os.getpid())
sys.stdout.flush()
while True:
    rows = churn()
