#!/usr/bin/env python3
"""Draws a reproducible sample of findings to judge and prints the code around each.

    sample.py RULE N SEED report.json [report.json ...]            # prints the sample with context
    sample.py --spread RULE N SEED report.json [report.json ...]   # the sample spread over services

Each report is trunkguard's JSON output (`check TREE --select TG2 --output-format json --no-cache`);
the service is the first path component under /work/extra or /work/corpus. Findings silenced in
source are skipped. The sample is `random.Random(SEED).sample` over findings sorted by path and line;
with `--spread`, findings are grouped by their first path component (the service when run from
/work/extra), each group shuffled with `random.Random(SEED)` (groups in sorted order), and the groups
drained round-robin until N are picked (how bench/judged/defaults.tsv was drawn).
"""
import json
import random
import sys


def service(path):
    parts = path.split('/')
    for root in ('extra', 'corpus'):
        if root in parts:
            return parts[parts.index(root) + 1].split('-')[0]
    return parts[0]


def spread(found, n, seed):
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
    return pick


def main():
    args = sys.argv[1:]
    spread_out = args[:1] == ['--spread']
    args = args[1:] if spread_out else args
    rule, n, seed, reports = args[0], int(args[1]), int(args[2]), args[3:]
    found = []
    for r in reports:
        for f in json.load(open(r))['findings']:
            if f['rule'] == rule and not f.get('suppressed'):
                found.append(f)
    found.sort(key=lambda f: (f['path'], f['line']))
    if len(found) <= n:
        pick = list(found)
    elif spread_out:
        pick = spread(found, n, seed)
    else:
        pick = random.Random(seed).sample(found, n)
    pick.sort(key=lambda f: (f['path'], f['line']))
    print(f'# {rule}: {len(pick)} of {len(found)}', file=sys.stderr)
    for f in pick:
        lines = open(f['path'], encoding='utf-8', errors='replace').read().split('\n')
        line = f['line']
        rel = f['path'].split('-py3-none-any/')[-1]
        for root in ('/work/corpus/',):
            if f['path'].startswith(root):
                rel = f['path'][len(root):].split('/', 1)[1]
        print(f"=== {service(f['path'])}\t{rel}:{line}\t{rule}\t[{f['scope']}] {f['message'][:150]}")
        # the enclosing def header, then the try and the handler
        start = line - 1
        while start > 0 and not lines[start].lstrip().startswith(('def ', 'async def ')):
            start -= 1
        hdr = lines[max(0, start - 2):start + 1]
        lo = max(start + 1, line - 14)
        for i, l in enumerate(hdr, max(0, start - 2) + 1):
            print(f'{i:5} {l}')
        if lo > start + 1:
            print('  ...')
        indent = len(lines[line - 1]) - len(lines[line - 1].lstrip())
        end = line
        while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
            end += 1
        end = min(end + 3, line + 25, len(lines))
        for i in range(lo, end):
            print(f'{i + 1:5} {lines[i]}')


if __name__ == '__main__':
    main()
