#!/usr/bin/env python3
"""Draws a spread sample of one rule's findings across services and prints the code around each.

    sample_spread.py RULE N SEED report.json [report.json ...]

Like sample.py, but when a rule has more than N findings the sample is spread over the services:
findings are grouped by service (first path component), each group is shuffled with
`random.Random(SEED)` (groups in sorted order), and groups are drained round-robin until N are picked.
With N or fewer findings, every finding is printed. Findings silenced in source are skipped.
"""
import json
import random
import sys


def main():
    rule, n, seed, reports = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    found = []
    for r in reports:
        for f in json.load(open(r))['findings']:
            if f['rule'] == rule and not f.get('suppressed'):
                found.append(f)
    found.sort(key=lambda f: (f['path'], f['line']))
    if len(found) > n:
        rnd = random.Random(seed)
        groups = {}
        for f in found:
            groups.setdefault(f['path'].split('/')[0], []).append(f)
        for g in groups.values():
            rnd.shuffle(g)
        pick = []
        while len(pick) < n:
            for k in sorted(groups):
                if groups[k] and len(pick) < n:
                    pick.append(groups[k].pop())
        found = sorted(pick, key=lambda f: (f['path'], f['line']))
    print(f'# {rule}: {len(found)} picked', file=sys.stderr)
    for f in found:
        lines = open(f['path'], encoding='utf-8', errors='replace').read().split('\n')
        line = f['line']
        rel = f['path'].split('-py3-none-any/')[-1]
        print(f"=== {f['path'].split('-')[0]}\t{rel}:{line}\t{rule}\t[{f['scope']}] {f['message'][:150]}")
        for i in range(max(0, line - 30), min(len(lines), line + 30)):
            print(f"{i + 1:5}{'>' if i + 1 == line else ' '}{lines[i]}")


if __name__ == '__main__':
    main()
