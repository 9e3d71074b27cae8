# The python3 workload of bench/run: object churn as a program builds
# and drops it - dicts, lists, tuples, strings, small class instances,
# json round trips, sorting.  Run twice: PYTHONMALLOC=malloc sends every
# object to malloc, the default (pymalloc) only blocks over 512 bytes
# and pymalloc's 256 KiB arenas.
#
#   python3 objects.py [SCALE]
import json
import sys


class Node:
    __slots__ = ("key", "value", "children")

    def __init__(self, key, value):
        self.key = key
        self.value = value
        self.children = []


def tree(n):
    nodes = [Node(i, str(i) * (i % 7 + 1)) for i in range(n)]
    for i in range(1, n):
        nodes[(i - 1) // 4].children.append(nodes[i])
    return nodes[0]


def walk(node):
    total, stack = 0, [node]
    while stack:
        n = stack.pop()
        total += len(n.value)
        stack.extend(n.children)
    return total


def one_round(r, n):
    table = {"k%d" % i: [i, str(i * r), (i, i + r), {"v": i % 97}] for i in range(n)}
    text = json.dumps(table)
    back = json.loads(text)
    rows = sorted(((v[0] % 1000, k, v[1]) for k, v in back.items()), reverse=True)
    words = " ".join(row[2] for row in rows[: n // 2]).split()
    uniq = set(words) | {w[::-1] for w in words[::3]}
    size = walk(tree(n // 2))
    return len(text) + len(rows) + len(uniq) + size


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    rounds = max(1, int(14 * scale))
    check = 0
    for r in range(rounds):
        check += one_round(r, 20000)
    print(check)


main()
