"""Times trunkguard against its own parse floor, ruff, bandit and semgrep; prints Markdown (BENCHMARKS.md).

Usage: measure.py CORPUS_DIR VENV   (bench/run.sh prepares both; environment knobs below)

Workloads: `neutron` (neutron 29.0.0's package) and `corpus` (the packages of neutron, neutron-lib, nova,
keystone and cinder, scanned by one command). Commands run *alternating*: each round runs every command
once, in order, and RUNS rounds give the medians; so drift on a noisy machine hits all commands alike.

    RUNS=5            rounds for the fast commands (trunkguard, ruff)
    SLOW_RUNS=1       rounds for bandit and semgrep
    SLOW_ON=neutron   workloads bandit and semgrep run on ("neutron corpus" for both)
    THREADS=2         trunkguard --threads and semgrep -j
"""
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CORPUS, VENV = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
RUNS = int(os.environ.get("RUNS", "5"))
SLOW_RUNS = int(os.environ.get("SLOW_RUNS", "1"))
SLOW_ON = os.environ.get("SLOW_ON", "neutron").split()
THREADS = os.environ.get("THREADS", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
TG = os.path.abspath(os.path.join(HERE, "..", "target", "release", "trunkguard"))
PACKAGES = {
    "neutron": ["neutron-29.0.0/neutron"],
    "corpus": ["neutron-29.0.0/neutron", "neutron-lib-5.0.1/neutron_lib", "nova-34.0.0/nova",
               "keystone-30.0.0/keystone", "cinder-29.0.0/cinder"],
}
# The file edited for the "one edited file" timings.
EDITED = "neutron-29.0.0/neutron/services/trunk/plugin.py"
OUT = tempfile.mkdtemp(prefix="tg-bench-")
CACHE = os.path.join(OUT, "tg-cache")
RUFF_SELECT = "BLE001,S110,S112,TRY,LOG,G,S"


def tg(paths, *extra):
    return [TG, "check", *paths, "--threads", THREADS, "--exit-zero", "--quiet", "--output-format", "sarif",
            "--output", os.path.join(OUT, "tg.sarif"), "--cache-dir", CACHE, *extra]


def ruff(paths, *extra):
    return [f"{VENV}/bin/ruff", "check", "--isolated", "--select", RUFF_SELECT, "--exit-zero", "--quiet",
            "--output-format", "sarif", "--output-file", os.path.join(OUT, "ruff.sarif"), *extra, *paths]


def bandit(paths):
    return [f"{VENV}/bin/bandit", "-r", "-q", "-f", "json", "-o", os.path.join(OUT, "bandit.json"), *paths]


def semgrep(paths):
    # Every file, as the other tools scan them: semgrep's built-in ignore list skips `tests/` (883 of
    # neutron's 2,080 files) unless the project root has its own .semgrepignore (see main), and files
    # over 1 MB unless --max-target-bytes 0.
    return [f"{VENV}/bin/semgrep", "scan", "--config", os.path.join(HERE, "semgrep-rules.yml"), "-j", THREADS,
            "--metrics", "off", "--disable-version-check", "--no-git-ignore", "--project-root", ".",
            "--max-target-bytes", "0", "--quiet", "--sarif", "--output", os.path.join(OUT, "semgrep.sarif"),
            *paths]


def clear_cache():
    shutil.rmtree(CACHE, ignore_errors=True)


def edit():
    with open(os.path.join(CORPUS, EDITED), "a") as f:
        f.write(f"# benchmark edit {time.time_ns()}\n")


def timed(cmd, before=None):
    """Wall seconds of one run of `cmd` in the corpus directory (after calling `before`)."""
    if before:
        before()
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=CORPUS, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"measure.py: `{' '.join(cmd)}` failed ({done.returncode}): {done.stderr[-2000:]}")
    return took


def floor_seconds(paths):
    """The parse-only floor as trunkguard measures it internally (read + parse + walk, no rules)."""
    done = subprocess.run([TG, "check", *paths, "--threads", THREADS, "--parse-only"], cwd=CORPUS,
                          capture_output=True, text=True, check=True)
    # trunkguard: parse-only: N files, M MB, K nodes in S s
    return float(done.stderr.split(" in ")[-1].split()[0])


def peak_rss_mb(cmd):
    done = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=CORPUS, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def size(paths):
    files, total = 0, 0
    for p in paths:
        for root, dirs, names in os.walk(os.path.join(CORPUS, p)):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
            for n in names:
                if n.endswith(".py"):
                    files += 1
                    total += os.path.getsize(os.path.join(root, n))
    return files, total / 1e6


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "not installed"


def measure(name, paths):
    """Medians (seconds) of every command on one workload, run alternating."""
    fast = {
        "floor (parse only)": lambda: floor_seconds(paths),
        "trunkguard cold (--no-cache)": lambda: timed(tg(paths, "--no-cache")),
        "trunkguard cold, full parse": lambda: timed(tg(paths, "--no-cache", "--full-parse")),
        "trunkguard first run (writes cache)": lambda: timed(tg(paths), before=clear_cache),
        "trunkguard warm": lambda: timed(tg(paths)),
        "trunkguard warm, one file edited": lambda: timed(tg(paths), before=edit),
        "trunkguard the edited file alone": lambda: timed(tg([EDITED]), before=edit),
        "ruff cold (--no-cache)": lambda: timed(ruff(paths, "--no-cache")),
        "ruff warm": lambda: timed(ruff(paths)),
    }
    timed(ruff(paths))  # warm ruff's cache
    samples = {k: [] for k in fast}
    for _ in range(RUNS):
        for k, run in fast.items():
            samples[k].append(run())
    if name in SLOW_ON:
        slow = {"bandit -r": bandit(paths), "semgrep (3 rules)": semgrep(paths)}
        for k in slow:
            samples[k] = []
        for _ in range(SLOW_RUNS):
            for k, cmd in slow.items():
                samples[k].append(timed(cmd))
    clear_cache()
    rss = peak_rss_mb(tg(paths, "--no-cache"))
    return {k: statistics.median(v) for k, v in samples.items()}, rss


def main():
    with open(os.path.join(CORPUS, ".semgrepignore"), "w") as f:
        f.write("# bench/measure.py: an empty ignore list, so that semgrep scans every file\n")
    original = open(os.path.join(CORPUS, EDITED), "rb").read()
    try:
        results = {name: (size(paths), *measure(name, paths)) for name, paths in PACKAGES.items()}
    finally:
        with open(os.path.join(CORPUS, EDITED), "wb") as f:
            f.write(original)
        shutil.rmtree(OUT, ignore_errors=True)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
    print(f"Machine: {os.cpu_count()} cores ({cpu}), {int(mem) / 2**20:.0f} GiB, {platform.system()} "
          f"{platform.release()}. {version([TG, '--version'])}; {version([f'{VENV}/bin/ruff', '--version'])}; "
          f"bandit {version([f'{VENV}/bin/bandit', '--version']).split()[-1] if os.path.exists(f'{VENV}/bin/bandit') else '-'}; "
          f"semgrep {version([f'{VENV}/bin/semgrep', '--version'])}. RUNS={RUNS}, SLOW_RUNS={SLOW_RUNS}, "
          f"threads {THREADS}.\n")
    names = list(PACKAGES)
    print("| command | " + " | ".join(f"{n} ({results[n][0][0]} files, {results[n][0][1]:.1f} MB)" for n in names)
          + " |")
    print("|---|" + "---|" * len(names))
    keys = list(results[names[0]][1]) + [k for k in results[names[-1]][1] if k not in results[names[0]][1]]
    for k in keys:
        cells = [f"{results[n][1][k]:.3f} s" if k in results[n][1] else "—" for n in names]
        print(f"| {k} | " + " | ".join(cells) + " |")
    print("| peak RSS, cold | " + " | ".join(f"{results[n][2]:.0f} MB" for n in names) + " |")
    print()
    print("| target | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))

    def ratio(label, fn):
        cells = []
        for n in names:
            try:
                cells.append(fn(results[n][1], results[n][0]))
            except KeyError:
                cells.append("—")
        print(f"| {label} | " + " | ".join(cells) + " |")

    cold = "trunkguard cold (--no-cache)"
    ratio("cold / parse floor (≤ 1.2)", lambda r, s: f"{r[cold] / r['floor (parse only)']:.2f}")
    ratio("cold / ruff cold (≤ 2.0 on the corpus)", lambda r, s: f"{r[cold] / r['ruff cold (--no-cache)']:.2f}")
    ratio("bandit / cold (≥ 30)", lambda r, s: f"{r['bandit -r'] / r[cold]:.1f}")
    ratio("semgrep / cold (≥ 8 on the corpus)", lambda r, s: f"{r['semgrep (3 rules)'] / r[cold]:.1f}")
    ratio("warm (≤ 0.2 s on the corpus)", lambda r, s: f"{r['trunkguard warm']:.3f} s")
    ratio("ruff warm / trunkguard warm", lambda r, s: f"{r['ruff warm'] / r['trunkguard warm']:.1f}")
    ratio("the edited file alone (≤ 0.05 s)", lambda r, s: f"{r['trunkguard the edited file alone']:.3f} s")
    ratio("cold cost per MB", lambda r, s: f"{r[cold] / s[1] * 1000:.0f} ms/MB")


main()
