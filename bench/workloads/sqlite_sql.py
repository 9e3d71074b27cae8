# bench/run's sqlite3 SQL, for scripts that run the workload on their
# own (bench/size_slack.sh, bench/front_cache.sh): its rows at SCALE,
# 260,000 at 1, as bench/run makes them.
#
#   python3 sqlite_sql.py [SCALE]
import os
import re
import sys

run = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "run")
sql = re.search(r'SQL = """\\\n(.*?)"""', open(run).read(), re.S).group(1)
scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
print(sql.format(rows=max(1000, int(260000 * scale))))
