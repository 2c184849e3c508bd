"""Times trunkguard on generated hostile files (a pull request controls the input); prints Markdown.

Usage: stress.py [TRUNKGUARD_BINARY]   (default: target/release/trunkguard; bench/run.sh runs it)

Each file is checked alone, `check FILE --no-cache`, with selective parsing and with `--full-parse`;
the table gives the median wall time of RUNS runs (default 3). Cost should grow
linearly with the size of the input: the generators take a count, and `SCALE=4` quadruples every
count to check it.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TG = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "target", "release", "trunkguard"))
RUNS = int(os.environ.get("RUNS", "3"))
SCALE = int(os.environ.get("SCALE", "1"))


def tiny_functions(n):
    """n functions no rule can report in: each is blanked, each leaves a gap the parser may skip."""
    return "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(n))


def hash_line(n):
    """A function whose comment line holds n `#`s."""
    return "def f():\n    x = 1  # " + "#" * n + "\n"


def logger_names(n):
    """n names bound to one module logger, then n functions that use none of them."""
    names = " = ".join(f"lg{i}" for i in range(n))
    return f"import logging\n{names} = logging.getLogger(__name__)\n\n" + tiny_functions(n)


def nested_classes(n):
    """n times: 290 classes nested in one another (one-space indentation; 300 levels is where
    trunkguard stops analysing a file), a method at the bottom."""
    depth = 290
    classes = "".join(" " * d + f"class C{d}:\n" for d in range(depth))
    nest = classes + " " * depth + "def f(self, c):\n" + " " * (depth + 1) + "self.g(c.elevated())\n"
    return nest * n


def helper_chain(n):
    """A password handed down a chain of n helpers with no trigger of their own, the last one logs it:
    the project model finds each helper unparsed only once the one before it has been read."""
    head = "import logging\nLOG = logging.getLogger(__name__)\n\n\ndef login(user, password):\n    f0(password)\n\n\n"
    chain = "".join(f"def f{i}(p):\n    f{i + 1}(p)\n\n\n" for i in range(n))
    return head + chain + f"def f{n}(p):\n    LOG.info('x %s', p)\n"


def defs_in_a_line(n):
    """n `def `s in one string on one line: the function count looks at each, never back along the
    line."""
    return 'x = "' + "def " * n + '"\n'


def blanks_then_defs(n):
    """`async`, 4n blanks, then n `def `s, all on one line: each line's first words are found once."""
    return "async" + " " * (4 * n) + "def " * n + "\n"


def elevating_classes(n):
    """n classes that elevate a context, in a module that names `ResourceExtension` (TG401 asks of
    each whether the module wires it into the API)."""
    head = "from neutron.api import extensions\nR = extensions.ResourceExtension\n\n"
    return head + "".join(f"class C{i}:\n    def f(self, context):\n        return context.elevated()\n\n" for i in range(n))


CASES = [
    ("200,000 tiny functions", tiny_functions, 200_000),
    ("a 100 KB line of `#` in a function", hash_line, 100_000),
    ("20,000 names bound to a logger, 20,000 functions", logger_names, 20_000),
    ("50 nests of 290 classes", nested_classes, 50),
    ("a chain of 3,000 helpers handing a password down", helper_chain, 3_000),
    ("900,000 `def `s in a string on one line", defs_in_a_line, 900_000),
    ("`async`, 1.8 MB of blanks, 450,000 `def `s, one line", blanks_then_defs, 450_000),
    ("50,000 elevating classes beside `ResourceExtension`, `--select TG401`", elevating_classes, 50_000,
     ["--select", "TG401"]),
]


def run(path, *extra):
    """Wall seconds of one check."""
    start = time.perf_counter()
    # The report goes to /dev/null by name: a standard output that is /dev/null opened read-write is
    # how a closed one looks (trunkguard refuses it), and subprocess.DEVNULL opens it so.
    done = subprocess.run([TG, "check", path, "--no-cache", "--exit-zero", "--quiet", "--output", os.devnull,
                           "--max-file-size", "1G", *extra],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"stress.py: trunkguard failed on {path} ({done.returncode}): {done.stderr[-2000:]}")
    return took


def main():
    print(f"| generated file (RUNS={RUNS}, SCALE={SCALE}) | size | selective parsing | `--full-parse` |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="tg-stress-") as tmp:
        for label, make, count, *args in CASES:
            args = args[0] if args else []
            path = os.path.join(tmp, "stress.py")
            with open(path, "w") as f:
                f.write(make(count * SCALE))
            cells = []
            for extra in ([], ["--full-parse"]):
                times = [run(path, *args, *extra) for _ in range(RUNS)]
                cells.append(f"{statistics.median(times):.2f} s")
            print(f"| {label} | {os.path.getsize(path) / 1e6:.1f} MB | {cells[0]} | {cells[1]} |")


main()
