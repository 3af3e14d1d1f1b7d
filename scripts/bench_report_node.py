#!/usr/bin/env python3
"""The Node section of BENCHMARKS.md (issue 17): a call and a host callback
from Node against @extism/extism, and where Aegis's time goes.

Inputs, in OUT_DIR (target/bench):
  node.json        bindings-node/benches/bench_calls.js (scripts/bench.sh)
  perf-node.json   scripts/perf-node.sh (optional: the profile by layer)

    section(out_dir) -> str                       the markdown section
    targets(out_dir) -> [(item, target, met)]     met: True, False, or None

As a script:
    bench_report_node.py [OUT_DIR]                prints the section
    bench_report_node.py perf-summary WORK        the profile summary (used by
                                                  scripts/perf-node.sh)
"""

import json
import pathlib
import re
import sys

PEER = "@extism/extism"
# (row in node.json, label, kind, target ratio against PEER)
ROWS = [
    ("aegis", "`sandbox.call('add', 1, 2)`", "call", 0.8),
    ("aegis func", "`sandbox.func('add')`, then `add(1, 2)`", "call", 0.8),
    ("aegis", "host callback `inc(x)` (per callback)", "callback", 5.0),
]
# The row that decides each target: the "Node call" is `call` itself.
TARGET_ROWS = {"call": "aegis", "callback": "aegis"}
# perf-node.sh's profiles: (kind, node.json row, profile, column label).
PROFILES = [("call", "aegis", "call", "`call`"), ("call", "aegis func", "func", "`func`"),
            ("callback", "aegis", "callback", "callback")]
LAYERS = [
    ("v8", "Node and V8 (N-API, entering and leaving JS)"),
    ("wasmtime", "wasmtime (host↔wasm trampolines, argument arrays)"),
    ("core", "aegis-core (limits, metrics, lookup, dispatch)"),
    ("binding", "bindings-node (JS ↔ wasm values, dispatch)"),
    ("napi-rs", "napi-rs runtime"),
    ("libc", "libc (malloc and free)"),
    ("jit", "JIT code (the JS callback and loop, the guest)"),
    ("addon-other", "addon, other (Rust std, hashing)"),
    ("other", "kernel and the rest"),
]


def load(out_dir, name):
    path = pathlib.Path(out_dir) / name
    return json.loads(path.read_text()) if path.exists() else None


def fmt_ns(ns):
    return "n/a" if ns is None else f"{ns:,.0f} ns" if ns >= 100 else f"{ns:.1f} ns"


def verdict(met):
    return "n/a" if met is None else "**met**" if met else "**missed**"


def measure(doc, kind, row):
    """(cpu, wall) medians of one row: CPU time when recorded."""
    wall = doc.get(kind, {}).get(row)
    cpu = doc.get(f"{kind}_cpu", {}).get(row)
    return cpu if cpu is not None else wall, wall


def ratio_of(doc, kind, row):
    mine, _ = measure(doc, kind, row)
    peer, _ = measure(doc, kind, PEER)
    return mine / peer if mine and peer else None


def layer_of(dso, sym):
    """Which layer a (shared object, symbol) sample belongs to."""
    if dso.endswith(".node"):
        for key, pattern in [("binding", r"aegis_node"), ("core", r"aegis_core"),
                             ("wasmtime", r"wasmtime|cranelift"), ("napi-rs", r"\bnapi(_sys)?::")]:
            if re.search(pattern, sym):
                return key
        return "addon-other"
    if dso == "node" or dso.startswith("libnode") or dso.startswith("libstdc++"):
        return "v8"
    if dso.startswith("libc.so") or dso.startswith("ld-linux"):
        return "libc"
    if dso.startswith("[JIT]") or dso.startswith("perf-") or dso in ("[unknown]", "anon"):
        return "jit"
    return "other"


def summarize(report_text):
    """Shares (0..1) by layer, and the top symbols, of one `perf report -t '|'`."""
    shares, top = {}, []
    for line in report_text.splitlines():
        if line.startswith("#") or "|" not in line:
            continue
        pct, dso, sym = (part.strip() for part in line.split("|", 2))
        if not pct.endswith("%"):
            continue
        share = float(pct.rstrip("%")) / 100
        sym = sym.removeprefix("[.]").removeprefix("[k]").strip()
        layer = layer_of(dso, sym)
        shares[layer] = shares.get(layer, 0.0) + share
        if len(top) < 12:
            top.append({"share": share, "dso": dso, "symbol": sym[:120], "layer": layer})
    return {"shares": shares, "top": top}


def perf_summary(work):
    work = pathlib.Path(work)
    return {row: summarize((work / f"{row}.txt").read_text())
            for row in ("call", "func", "callback") if (work / f"{row}.txt").exists()}


def results_table(doc):
    lines = [f"| measure | Aegis | {PEER} | ratio | target | verdict |", "|---|---|---|---|---|---|"]
    for row, label, kind, target in ROWS:
        mine, mine_wall = measure(doc, kind, row)
        peer, peer_wall = measure(doc, kind, PEER)
        r = ratio_of(doc, kind, row)
        met = None if r is None else r <= target
        lines.append(f"| {label} | {fmt_ns(mine)} ({fmt_ns(mine_wall)} wall) | {fmt_ns(peer)} "
                     f"({fmt_ns(peer_wall)} wall) | {'n/a' if r is None else f'{r:.2f}x'} | "
                     f"≤ {target:g}x | {verdict(met)} |")
    builtin, _ = measure(doc, "callback", "WebAssembly")
    lines.append(f"| host callback, Node's built-in WebAssembly (no sandbox) | {fmt_ns(builtin)} | | | | |")
    return "\n".join(lines)


def layer_table(doc, perf):
    """ns per op by layer: each layer's share of the samples times the measured time."""
    lines = ["| layer | " + " | ".join(label for *_, label in PROFILES) + " |",
             "|---|" + "---|" * len(PROFILES)]
    for key, label in LAYERS:
        cells = []
        for kind, row, profile, _ in PROFILES:
            share = perf.get(profile, {}).get("shares", {}).get(key)
            time, _ = measure(doc, kind, row)
            cells.append("" if share is None or time is None else f"{share * time:.0f} ns ({share:.0%})")
        if any(cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def callback_explanation(doc, perf):
    r = ratio_of(doc, "callback", TARGET_ROWS["callback"])
    if r is None or r <= 5.0:
        return ""
    mine, _ = measure(doc, "callback", "aegis")
    peer, _ = measure(doc, "callback", PEER)
    shares = perf.get("callback", {}).get("shares", {})
    v8 = shares.get("v8")
    text = [f"The host-callback target is missed: an Aegis callback costs {fmt_ns(mine)}, "
            f"{r:.1f}x {PEER}'s {fmt_ns(peer)}."]
    if v8 is not None:
        entry = v8 * mine
        budget = 5.0 * peer - entry
        rest = {k: shares.get(k, 0) * mine for k in ("wasmtime", "core", "binding", "libc")}
        text.append(
            f"The profile shows where: time inside Node and V8 (N-API: `napi_call_function`, i.e. V8's "
            f"C++→JS entry and exit, plus making the argument and reading the result) takes "
            f"{entry:.0f} ns of every callback by itself, "
            f"{entry / peer:.1f}x {PEER}'s whole callback. {PEER} runs its guest on V8's own "
            "WebAssembly, where a call from wasm to a JS import is a JIT-internal call that never leaves "
            "V8; an Aegis guest runs in wasmtime, so each callback crosses wasmtime's host trampoline, "
            "aegis-core's dispatch and N-API into V8 and back. No N-API addon calls JS for less, "
            f"so 5x ({5.0 * peer:.0f} ns) leaves {budget:.0f} ns for everything else, which takes "
            f"{mine - entry:.0f} ns: " + ", ".join(f"{k} {v:.0f} ns" for k, v in rest.items()) + ".")
    return " ".join(text)


def section(out_dir):
    doc = load(out_dir, "node.json")
    if not doc:
        return "## Node: calls and host callbacks\n\nnode.json is missing: run scripts/bench.sh.\n"
    perf = load(out_dir, "perf-node.json") or {}
    out = ["## Node: calls and host callbacks\n",
           "Medians of the process's CPU time per call or per callback (wall-clock time beside it), "
           "from `bindings-node/benches/bench_calls.js` with the release addon (`npm install` builds "
           f"release by default), against {PEER} in the same run. Extism's call is its cheapest (an "
           "export with an empty input); Aegis's `add(i32, i32)` converts two arguments and a result.\n",
           results_table(doc), ""]
    if perf:
        out += ["Where Aegis's time goes (`scripts/perf-node.sh`: a `perf` profile of each row, each "
                "layer's share of the samples times the row's measured time):\n", layer_table(doc, perf), ""]
    explanation = callback_explanation(doc, perf)
    if explanation:
        out += [explanation, ""]
    return "\n".join(out)


def targets(out_dir):
    doc = load(out_dir, "node.json")
    out = []
    for kind, item, target in [("call", "Node call `add(i32, i32)`", 0.8),
                               ("callback", "Node host callback", 5.0)]:
        r = ratio_of(doc, kind, TARGET_ROWS[kind]) if doc else None
        out.append((item, f"≤ {target:g}x {PEER}", None if r is None else r <= target))
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "perf-summary":
        print(json.dumps(perf_summary(sys.argv[2]), indent=1))
    else:
        print(section(sys.argv[1] if len(sys.argv) > 1 else "target/bench"))
