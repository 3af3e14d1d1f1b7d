#!/usr/bin/env python3
"""The "data round trips" section of BENCHMARKS.md, from one run of
scripts/bench-data.sh.

    bench_data_report.py DATA_DIR CRITERION_DIR BENCHMARKS.md

DATA_DIR holds c.json, python.json and node.json; CRITERION_DIR holds the
criterion estimates of aegis-core/benches/data.rs. The section between
`<!-- data:begin -->` and `<!-- data:end -->` is replaced (appended if the
markers are missing).
"""

import json
import pathlib
import sys

BEGIN, END = "<!-- data:begin -->", "<!-- data:end -->"
SIZES = ["1KiB", "1MiB"]
KINDS = {"bytes": "bytes convention (`echo`)", "component": "component call (`echo-string`)"}


def criterion(root):
    """Rust rows: {kind: {size: {impl: ns}}} from criterion's median estimates."""
    groups = {"bytes": "bytes_round_trip", "component": "component_string"}
    out = {}
    for kind, group in groups.items():
        for est in sorted((root / group).glob("*/*/new/estimates.json")):
            impl, size = est.parts[-4], est.parts[-3]
            ns = json.loads(est.read_text())["median"]["point_estimate"]
            out.setdefault(kind, {}).setdefault(size, {})[impl] = ns
    return out


def c_rows(path):
    raw = json.loads(path.read_text())
    rows = {}
    for kind in KINDS:
        for size, key in zip(SIZES, ["1k", "1m"]):
            ns = raw.get(f"{kind}_{key}_ns")
            if ns is not None:
                rows.setdefault(kind, {}).setdefault(size, {})["aegis"] = ns
    return rows


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def table(frontends):
    lines = []
    for kind, title in KINDS.items():
        lines += [f"**{title}**, median time of one round trip (payload in, the same payload back)", ""]
        lines += ["| front-end | implementation | 1 KiB | ÷ Aegis | 1 MiB | ÷ Aegis |", "|---|---|---|---|---|---|"]
        for name, rows in frontends:
            sizes = rows.get(kind, {})
            impls = []
            for size in SIZES:
                impls += [i for i in sizes.get(size, {}) if i not in impls]
            for impl in impls:
                cells = []
                for size in SIZES:
                    at = sizes.get(size, {})
                    aegis = next((v for k, v in at.items() if k.lower().startswith("aegis")), None)
                    ns = at.get(impl)
                    cells.append(fmt(ns) if ns is not None else "—")
                    cells.append(f"{ns / aegis:.2f}x" if ns is not None and aegis else "—")
                lines.append(f"| {name} | {impl} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def main():
    data, crit, bench = (pathlib.Path(a) for a in sys.argv[1:4])
    frontends = [("Rust", criterion(crit)), ("C", c_rows(data / "c.json"))]
    notes = []
    for name, file in [("Python", "python.json"), ("Node", "node.json")]:
        raw = json.loads((data / file).read_text())
        frontends.append((name, {k: raw[k] for k in KINDS if k in raw}))
        for key, note in raw.get("notes", {}).items():
            notes.append(f"- {name}, {key}: {note}")
    body = [
        BEGIN,
        "## Addendum: data round trips (issue 16; `./scripts/bench-data.sh`, one run)",
        "",
        "Each front-end against its closest peer in the same run: raw wasmtime",
        "(Rust, the same guests, no limits), Extism (Python, Node: an echo plugin",
        "copying through the Extism kernel as a PDK does), wasmtime-py (Python",
        "components) and Node's built-in WebAssembly (the bytes convention done in",
        "JS, no sandbox). `÷ Aegis` is the row's time over the Aegis row of its",
        "front-end (the first row named aegis…): above 1.00x is slower than Aegis.",
        "",
    ] + table(frontends) + (["Notes from the harnesses:", ""] + notes + [""] if notes else []) + [END]
    text = bench.read_text() if bench.exists() else ""
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + "\n".join(body) + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(body) + "\n"
    bench.write_text(text)


if __name__ == "__main__":
    main()
