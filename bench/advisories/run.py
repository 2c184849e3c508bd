#!/usr/bin/env python3
"""Advisory benchmark: do the TG4 rules fire in the vulnerable function and stay quiet once it is fixed?

For every row of advisories.tsv, downloads the vulnerable and the fixed release of the package from PyPI
(`pip download --no-deps`, into $TRUNKGUARD_ADVISORIES, default /work/advisories — outside git), runs
`trunkguard check <tree> --no-cache --select TG4 --output-format json` once per release, and reports per
advisory:

  fires   the expected rule reports inside the vulnerable function
  quiet   the expected rule reports nothing inside the fixed function
  other   any other TG4 finding inside the function (vulnerable / fixed), for reading

Rows whose expected rule is `-` have no TG4 shape; they are listed so the table says what trunkguard cannot
see, and their `other` column shows whether some rule fires there anyway.

Usage: bench/advisories/run.py [--trunkguard PATH] [--markdown] [--only ID]
"""

import argparse
import ast
import csv
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def rows():
    with open(HERE / "advisories.tsv", newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def tree(root: Path, package: str, version: str) -> Path:
    """The unpacked release, downloaded on first use."""
    dest = root / f"{package}-{version}"
    if dest.is_dir() and any(dest.iterdir()):
        return dest
    dl = root / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"{package}=={version}", "-d", str(dl)],
        check=True,
    )
    norm = package.replace("-", "_").lower()
    archives = [
        p
        for p in dl.iterdir()
        if p.name.lower().replace("-", "_").startswith(f"{norm}_{version}".lower())
        and (p.suffix == ".whl" or p.name.endswith(".tar.gz"))
    ]
    if not archives:
        sys.exit(f"no archive for {package}=={version} in {dl}")
    archive = sorted(archives)[0]
    dest.mkdir(parents=True, exist_ok=True)
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest)
    else:
        with tarfile.open(archive) as t:
            t.extractall(dest, filter="data")
        inner = [d for d in dest.iterdir() if d.is_dir()]
        if len(inner) == 1:  # sdists unpack into <name>-<version>/
            for p in inner[0].iterdir():
                p.rename(dest / p.name)
            inner[0].rmdir()
    return dest


def findings(trunkguard: str, root: Path):
    """TG4 findings of one release (paths as trunkguard prints them: they end with the file's path)."""
    out = subprocess.run(
        [trunkguard, "check", str(root), "--no-cache", "--select", "TG4", "--output-format", "json"],
        capture_output=True,
        text=True,
    )
    if out.returncode not in (0, 1):
        sys.exit(f"trunkguard failed on {root}: {out.stderr}")
    found = json.loads(out.stdout)["findings"]
    return found


def span(path: Path, qualified: str):
    """First and last line of the function `Class.method` (or `function`) in the file, if it exists."""
    try:
        module = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    want = qualified.split(".")
    stack = [(module, [])]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                stack.append((child, prefix + [child.name]))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if prefix + [child.name] == want:
                    first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                    return first, child.end_lineno
    return None


def inside(found, file: str, lines):
    if lines is None:
        return []
    lo, hi = lines
    return [f for f in found if f["path"].replace(os.sep, "/").endswith(file) and lo <= f["line"] <= hi]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trunkguard", default=os.environ.get("TRUNKGUARD", str(REPO / "target/release/trunkguard")))
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--only", help="run the rows of this advisory id only")
    args = ap.parse_args()
    root = Path(os.environ.get("TRUNKGUARD_ADVISORIES", "/work/advisories"))
    root.mkdir(parents=True, exist_ok=True)
    todo = [r for r in rows() if not args.only or r["id"] == args.only]
    cache = {}

    def release(pkg, ver):
        if (pkg, ver) not in cache:
            t = tree(root, pkg, ver)
            cache[(pkg, ver)] = (t, findings(args.trunkguard, t))
        return cache[(pkg, ver)]

    results = []
    for r in todo:
        vt, vf = release(r["package"], r["vulnerable"])
        ft, ff = release(r["package"], r["fixed"])
        if r["function"] == "-":
            results.append((r, None, None, [], []))
            continue
        vspan = span(vt / r["file"], r["function"])
        fspan = span(ft / r["file"], r["function"])
        vin = inside(vf, r["file"], vspan)
        fin = inside(ff, r["file"], fspan)
        exp = r["expected"]
        fires = any(f["rule"] == exp for f in vin) if exp != "-" else None
        quiet = not any(f["rule"] == exp for f in fin) if exp != "-" else None
        if vspan is None:
            fires = "no-function"
        results.append((r, fires, quiet, vin, fin))

    def mark(v):
        return {True: "yes", False: "NO", None: "n/a"}.get(v, str(v))

    def rules_of(fs):
        return ",".join(sorted({f["rule"] for f in fs})) or "-"

    if args.markdown:
        print("| advisory | package | vulnerable → fixed | function | shape | expected | fires | quiet | TG4 in vulnerable / fixed |")
        print("|---|---|---|---|---|---|---|---|---|")
    for r, fires, quiet, vin, fin in results:
        cells = [
            r["id"],
            r["package"],
            f"{r['vulnerable']} → {r['fixed']}",
            f"`{r['function']}`" if args.markdown else r["function"],
            r["shape"],
            r["expected"],
            mark(fires),
            mark(quiet),
            f"{rules_of(vin)} / {rules_of(fin)}",
        ]
        print("| " + " | ".join(cells) + " |" if args.markdown else "\t".join(cells))
    expected = [x for x in results if x[0]["expected"] != "-"]
    hit = [x for x in expected if x[1] is True]
    clean = sum(1 for x in hit if x[2] is True)
    noisy_fixed = sum(1 for x in results if x[4])
    print(
        f"\n{len(expected)} vulnerable functions with a single-file TG4 shape: the expected rule fires in {len(hit)}, "
        f"and is quiet after the fix in {clean} of those; {noisy_fixed} fixed functions hold any TG4 finding; "
        f"{len(results) - len(expected)} rows have no single-file TG4 shape."
    )

if __name__ == "__main__":
    main()
