"""Times trunkguard (and ruff/bandit for context) on the corpus trees; prints Markdown.

Usage: measure.py RUNS CORPUS_DIR VENV. Wall time is the median of RUNS runs; peak RSS comes from
/usr/bin/time -f %M (kilobytes) on one extra run.
"""
import json
import os
import statistics
import subprocess
import sys
import time

RUNS, CORPUS, VENV = int(sys.argv[1]), os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
TG = os.path.abspath("target/release/trunkguard")
TREES = [
    ("neutron 29.0.0", "neutron-29.0.0", "neutron"),
    ("neutron-lib 5.0.1", "neutron-lib-5.0.1", "neutron_lib"),
    ("nova 34.0.0", "nova-34.0.0", "nova"),
    ("keystone 30.0.0", "keystone-30.0.0", "keystone"),
    ("cinder 29.0.0", "cinder-29.0.0", "cinder"),
]


def wall(cmd, cwd):
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb(cmd, cwd):
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def tree_size(path):
    files, size = 0, 0
    for root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        for n in names:
            if n.endswith(".py"):
                files += 1
                size += os.path.getsize(os.path.join(root, n))
    return files, size / 1e6


print("| tree | files | MB | trunkguard 1 thread | trunkguard 2 threads | MB/s (2 threads) | peak RSS | findings (default rules) | ruff BLE/E722/S110/S112 | bandit |")
print("|---|---|---|---|---|---|---|---|---|---|")
for label, folder, package in TREES:
    cwd = os.path.join(CORPUS, folder)
    files, mb = tree_size(os.path.join(cwd, package))
    base = [TG, "check", package, "--output-format", "json", "--exit-zero", "--quiet"]
    one = wall(base + ["--threads", "1"], cwd)
    two = wall(base + ["--threads", "2"], cwd)
    rss = peak_rss_mb(base, cwd)
    report = json.loads(subprocess.run(base, cwd=cwd, capture_output=True, text=True).stdout)
    findings = report["summary"]["findings"]
    ruff = wall([f"{VENV}/bin/ruff", "check", "--no-cache", "--isolated", "--select", "BLE001,E722,S110,S112",
                 "--exit-zero", "--quiet", package], cwd)
    start = time.perf_counter()
    subprocess.run([f"{VENV}/bin/bandit", "-r", "-q", "-f", "json", package], cwd=cwd,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bandit = time.perf_counter() - start
    print(f"| {label} | {files} | {mb:.1f} | {one:.2f} s | {two:.2f} s | {mb / two:.1f} | {rss:.0f} MB "
          f"| {findings} | {ruff:.2f} s | {bandit:.1f} s (1 run) |")
