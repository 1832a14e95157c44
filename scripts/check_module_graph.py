#!/usr/bin/env python3
"""Checks that Package.swift's target dependencies are exactly what the sources use.

For every target: each declared dependency must be imported (Swift `import X`) or included (C
`#include` of one of its headers) somewhere in the target, and every package module a target
imports must be declared (not reached through another target's dependency). Reads the manifest
through `swift package dump-package`, so it sees what SwiftPM sees. Exits 1 and lists the
differences when they disagree; prints one summary line when they agree.

Usage: scripts/check_module_graph.py [PACKAGE_DIR]
"""
import json
import os
import re
import subprocess
import sys

# Modules of the toolchain and the OS: imported freely, never declared.
TOOLCHAIN = {"Foundation", "FoundationEssentials", "Glibc", "Darwin", "Musl", "Dispatch", "Synchronization",
             "Testing", "XCTest", "_Concurrency", "Swift", "os", "CoreFoundation"}

IMPORT = re.compile(r"^\s*(?:@[\w()]+\s+)*(?:public\s+|internal\s+|package\s+)?import\s+"
                    r"(?:(?:enum|struct|class|func|protocol|typealias|var|let)\s+)?([A-Za-z_]\w*)", re.M)
INCLUDE = re.compile(r'^\s*#\s*include\s+[<"]([^>"]+)[>"]', re.M)


def strip_comments_and_literals(text):
    """Swift/C source without block comments and multi-line string literals (which may quote code)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r'"""(?:.|\n)*?"""', '""', text)


def target_dir(root, t):
    if t.get("path"):
        return os.path.join(root, t["path"])
    return os.path.join(root, "Tests" if t["type"] == "test" else "Sources", t["name"])


def files(d, exts):
    for base, dirs, names in os.walk(d):
        dirs[:] = [x for x in dirs if x != "Fixtures"]
        for n in names:
            if n.endswith(exts):
                yield os.path.join(base, n)


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    manifest = json.loads(subprocess.run(["swift", "package", "--package-path", root, "dump-package"],
                                         check=True, capture_output=True, text=True).stdout)
    targets = {t["name"]: t for t in manifest["targets"]}

    # Headers each C target exposes: its include/ folder, or the headers its module map names.
    headers = {}
    for name, t in targets.items():
        d = target_dir(root, t)
        hs = set()
        for f in files(d, (".h", ".modulemap")):
            if f.endswith(".modulemap"):
                hs |= set(re.findall(r'header\s+"([^"]+)"', open(f).read()))
            elif os.sep + "include" + os.sep in f:
                hs.add(os.path.basename(f))
        for shim in [h for h in hs if h == "shim.h"]:
            hs |= set(INCLUDE.findall(open(os.path.join(d, shim)).read()))
        headers[name] = hs

    problems = []
    for name, t in sorted(targets.items()):
        declared = set()
        for dep in t.get("dependencies", []):
            for kind in ("byName", "target", "product"):
                if kind in dep:
                    declared.add(dep[kind][0])
        d = target_dir(root, t)
        used = set()
        for f in files(d, (".swift",)):
            used |= set(IMPORT.findall(strip_comments_and_literals(open(f, encoding="utf-8").read())))
        own = headers.get(name, set())
        for f in files(d, (".c", ".h")):
            for h in INCLUDE.findall(strip_comments_and_literals(open(f, encoding="utf-8").read())):
                h = os.path.basename(h)
                if h in own:
                    continue
                used |= {other for other, hs in headers.items() if other != name and h in hs}
        used -= TOOLCHAIN
        unused = sorted(declared - used)
        undeclared = sorted(used - declared - {name})
        if unused:
            problems.append(f"{name}: declared but never imported: {', '.join(unused)}")
        if undeclared:
            problems.append(f"{name}: imported but not declared: {', '.join(undeclared)}")

    if problems:
        print("module graph: Package.swift and the sources disagree")
        for p in problems:
            print("  " + p)
        return 1
    print(f"module graph: {len(targets)} targets, every declared dependency used and every import declared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
