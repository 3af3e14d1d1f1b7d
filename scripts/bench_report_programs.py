#!/usr/bin/env python3
"""The "real programs" section of BENCHMARKS.md (issue 17): what Aegis's
limits cost on real code, and how long the default fuel lasts.

Inputs, in OUT_DIR (target/bench):
  programs.json       scripts/bench-programs.sh (aegis-core/benches/programs.rs)
  perf-programs.txt   scripts/perf-programs.sh (optional: the profile)

    section(out_dir) -> str                       the markdown section
    targets(out_dir) -> [(item, target, met)]     met: True, False, or None

As a script:
    bench_report_programs.py [OUT_DIR]            prints the section
    bench_report_programs.py perf-summary WORK PROGRAM...
                                                  the profile summary (used by
                                                  scripts/perf-programs.sh)
"""

import json
import math
import pathlib
import re
import statistics
import subprocess
import sys

TARGET_RATIO = 1.01
MIN_PROGRAMS = 8
NO_LIMITS = "wasmtime_no_limits"
SAME = "wasmtime_same_limits"
FIBER = "wasmtime_same_limits_fiber"
AEGIS = "aegis_default"
AEGIS_NO_FUEL = "aegis_fuel_off"
# Variant whose time, set against SAME, gives the cost of one limit.
LIMIT_COSTS = [
    ("fuel", "wasmtime_fuel_off"),
    ("epochs", "wasmtime_epochs_off"),
    ("Aegis's memory settings (bounds checks)", "wasmtime_4gib_reservation"),
]


def load(out_dir):
    path = pathlib.Path(out_dir) / "programs.json"
    return json.loads(path.read_text()) if path.exists() else None


# The measure the tables use: the calling thread's CPU time during the
# `_start` call ("cpu"), which time spent waiting for a CPU does not stretch
# (sharing a core's caches and units with other work still does); or
# wall-clock time ("wall").
CPU, WALL = ("cpu_median_ns", "cpu_samples_ns"), ("median_ns", "samples_ns")


def median_ns(program, variant, measure=CPU):
    return program["variants"][variant][measure[0]]


def ratio(program, num, den, measure=CPU):
    """Ratio of the medians of two variants."""
    return median_ns(program, num, measure) / median_ns(program, den, measure)


def paired(program, num, den, measure=CPU):
    """Median over the rounds of the per-round ratio (the variants of one
    round ran back to back, so this cancels slow drifts of the machine)."""
    a = program["variants"][num][measure[1]]
    b = program["variants"][den][measure[1]]
    return statistics.median(x / y for x, y in zip(a, b))


def geomean(values):
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def ms(ns):
    return f"{ns / 1e6:.2f}"


def fuel_rows(doc):
    """(program, fuel, Aegis ns, fuel per second, ms the default fuel lasts)."""
    rows = []
    for p in doc["programs"]:
        fuel = p.get("fuel_consumed")
        if not fuel:
            continue
        ns = median_ns(p, AEGIS)
        per_s = fuel / (ns / 1e9)
        rows.append((p["name"], fuel, ns, per_s, doc["default_fuel"] / per_s * 1e3))
    return rows


def verdict(met):
    return "met" if met else "missed"


def time_table(doc):
    programs = doc["programs"]
    lines = [
        "| program | wasmtime, no limits | wasmtime, same limits | Aegis default "
        "| Aegis ÷ no limits | Aegis ÷ same limits | (paired) | ≤ 1.01x |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in programs:
        r = ratio(p, AEGIS, SAME)
        lines.append(
            f"| {p['name']} | {ms(median_ns(p, NO_LIMITS))} ms | {ms(median_ns(p, SAME))} ms "
            f"| {ms(median_ns(p, AEGIS))} ms | {ratio(p, AEGIS, NO_LIMITS):.3f}x | {r:.3f}x "
            f"| {paired(p, AEGIS, SAME):.3f}x | {verdict(r <= TARGET_RATIO)} |"
        )
    gm_none = geomean(ratio(p, AEGIS, NO_LIMITS) for p in programs)
    gm_same = geomean(ratio(p, AEGIS, SAME) for p in programs)
    gm_paired = geomean(paired(p, AEGIS, SAME) for p in programs)
    lines.append(
        f"| **geometric mean** | | | | **{gm_none:.3f}x** | **{gm_same:.3f}x** "
        f"| {gm_paired:.3f}x | **{verdict(gm_same <= TARGET_RATIO)}** |"
    )
    wall_none = geomean(ratio(p, AEGIS, NO_LIMITS, WALL) for p in programs)
    wall_same = geomean(ratio(p, AEGIS, SAME, WALL) for p in programs)
    lines += ["", f"In wall-clock time the geometric means are {wall_none:.3f}x (Aegis ÷ no "
              f"limits) and {wall_same:.3f}x (Aegis ÷ same limits)."]
    return lines


def cost_table(doc):
    programs = doc["programs"]
    columns = [(name, SAME, off) for name, off in LIMIT_COSTS] + [
        ("all limits (same ÷ no limits)", SAME, NO_LIMITS),
        ("fiber (same limits, async WASI on a fiber ÷ same)", FIBER, SAME),
        ("Aegis ÷ same limits on a fiber", AEGIS, FIBER),
        ("Aegis without fuel ÷ no limits", AEGIS_NO_FUEL, NO_LIMITS),
    ]
    columns = [c for c in columns if all(v in programs[0]["variants"] for v in c[1:])]
    lines = [
        "| program | " + " | ".join(name for name, _, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for p in programs:
        cells = [f"{ratio(p, num, den):.3f}x" for _, num, den in columns]
        lines.append(f"| {p['name']} | " + " | ".join(cells) + " |")
    cells = [f"{geomean(ratio(p, num, den) for p in programs):.3f}x" for _, num, den in columns]
    lines.append("| **geometric mean** | " + " | ".join(cells) + " |")
    return lines


def fuel_table(doc):
    lines = [
        "| program | fuel used | Aegis time | fuel per second | default fuel (1e9) lasts |",
        "|---|---|---|---|---|",
    ]
    for name, fuel, ns, per_s, lasts in fuel_rows(doc):
        lines.append(f"| {name} | {fuel:.3e} | {ms(ns)} ms | {per_s:.2e} | {lasts:.0f} ms |")
    return lines


def why(doc, perf_text):
    """A paragraph on where the cost of the limits comes from: each limit's
    measured cost, and how much longer the profiled hot code is."""
    programs = doc["programs"]
    costs = ", ".join(f"{name} {geomean(ratio(p, SAME, off) for p in programs):.3f}x"
                      for name, off in LIMIT_COSTS)
    growth = re.findall(r"== (\S+):.*?take the code from (\d+) to (\d+) instructions",
                        perf_text, re.S)
    grown = "; ".join(f"{name} {int(b) / int(a):.2f}x" for name, a, b in growth)
    return ("**Why the limits cost what they cost.** Each is code that wasmtime compiles "
            "into the guest: fuel, a counter update per basic block and a check at each "
            "loop header and function entry; epochs, a load of the engine's epoch and a "
            "compare at the same places; Aegis's memory layout, an explicit bounds check (compare with the "
            "memory's current size, and a `cmov` that sends an out-of-bounds access to "
            "address 0) per memory access. Taken away one at a time (geometric means): "
            f"{costs}."
            + (f" In the profiled programs the limits make the hottest functions' code this "
               f"much longer: {grown}; their time goes to compiled wasm, not to the host "
               "(profile below)." if grown else ""))


def section(out_dir):
    doc = load(out_dir)
    if doc is None:
        return ("## Real programs (issue 17)\n\nNot measured: `target/bench/programs.json` "
                "is missing (run `./scripts/bench-programs.sh`).\n")
    n = len(doc["programs"])
    machine = doc.get("machine", {})
    load_avg = doc.get("load_average", {})
    lasts = [row[4] for row in fuel_rows(doc)]
    out = [
        "## Real programs: what the limits cost (issue 17)",
        "",
        f"{n} programs of `tests/guests/programs` (Rust, built from source to wasm32-wasip1 "
        "by the bench command), each run as a WASI command at its default size, which uses "
        "about 60 % of the default fuel. Measured: the `_start` call alone (store, WASI "
        "context and instantiation excluded), as the CPU time of the thread that runs it "
        "(waiting for a CPU while other processes run does not stretch it; wall-clock "
        "times are in the JSON); "
        f"median of {doc['rounds']} rounds, each running "
        "every program under every variant once, interleaved in one process; stdout and "
        "stderr kept in memory alike. \"Same limits\" is raw wasmtime configured as Aegis's "
        "default runtime: fuel (1e9 per call), epoch interruption (2 ms tick, deadline "
        "checked in the callback), Aegis's memory settings (for its arenas: no reservation "
        "and no guard region, so every access is checked against the memory's size), its "
        "wasm features, the 512 KiB stack and a store limiter; it calls `_start` "
        "synchronously, where Aegis runs a WASI program on a fiber with async WASI (the "
        f"\"fiber\" variant does too). Machine: {machine.get('cpu', '?')}, {machine.get('cpus', '?')} "
        f"CPUs, load average {load_avg.get('start', '?')} at the start and "
        f"{load_avg.get('end', '?')} at the end" + (" (quick run)." if doc.get("quick") else "."),
        "",
        "    ./scripts/bench-programs.sh        # target/bench/programs.json",
        "    ./scripts/perf-programs.sh         # target/bench/perf-programs.txt",
        "",
        "**CPU time of one run** (median) and Aegis against raw wasmtime. \"(paired)\" is the "
        "median of the per-round ratios.",
        "",
        *time_table(doc),
        "",
        "**What each limit costs**: wasmtime with Aegis's limits ÷ the same without one of "
        "them (1.10x: that limit costs 10 %).",
        "",
        *cost_table(doc),
        "",
        "**How long the default fuel lasts** on each program (fuel it used ÷ Aegis's time):"
        + (f" from {min(lasts):.0f} ms to {max(lasts):.0f} ms." if lasts else ""),
        "",
        *fuel_table(doc),
        "",
    ]
    perf = pathlib.Path(out_dir) / "perf-programs.txt"
    out += [why(doc, perf.read_text() if perf.exists() else ""), ""]
    out += ["**Where the time goes** (`perf`, from `scripts/perf-programs.sh`):", ""]
    if perf.exists():
        out += ["```text", perf.read_text().rstrip(), "```", ""]
    else:
        out += ["Not profiled in this run (`target/bench/perf-programs.txt` is missing).", ""]
    return "\n".join(out)


def targets(out_dir):
    doc = load(out_dir)
    if doc is None:
        return [
            ("Real programs built from source by the bench command", f">= {MIN_PROGRAMS}", None),
            ("Real programs: Aegis ÷ wasmtime with the same limits", f"<= {TARGET_RATIO}x", None),
        ]
    programs = doc["programs"]
    n = len(programs)
    gm = geomean(ratio(p, AEGIS, SAME) for p in programs)
    worst = max(programs, key=lambda p: ratio(p, AEGIS, SAME))
    worst_ratio = ratio(worst, AEGIS, SAME)
    perf = (pathlib.Path(out_dir) / "perf-programs.txt").exists()
    return [
        (f"Real programs built from source by the bench command ({n})", f">= {MIN_PROGRAMS}",
         n >= MIN_PROGRAMS),
        (f"Real programs: Aegis ÷ wasmtime with the same limits, geometric mean ({gm:.3f}x)",
         f"<= {TARGET_RATIO}x", gm <= TARGET_RATIO),
        (f"Real programs: Aegis ÷ wasmtime with the same limits, every program "
         f"(worst: {worst['name']} {worst_ratio:.3f}x)", f"<= {TARGET_RATIO}x",
         worst_ratio <= TARGET_RATIO),
        ("Real programs: the cost of the limits explained by a perf profile",
         "profile recorded", perf),
    ]


# ---------------------------------------------------------------------------
# perf-summary: turns the recordings of scripts/perf-programs.sh into text.

PROFILED = [AEGIS, NO_LIMITS, SAME]
SAMPLE_PERIOD_NS = 200_000  # perf record -c 200000: one sample per 0.2 ms of CPU


def perf_samples(data, window):
    """(ip, symbol, dso) of every sample inside the measuring window."""
    start, end = window
    cmd = ["perf", "script", "-i", str(data), "-F", "ip,sym,dso",
           "--time", f"{start:.6f},{end:.6f}"]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$", line)
        if m:
            out.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return out


def place(symbol, dso):
    """Where a sample landed: compiled wasm, the kernel, libc, or the host."""
    if dso.startswith("/tmp/perf-") or "[JIT]" in dso or dso in ("[unknown]", "//anon"):
        return "compiled wasm"
    if "kernel" in dso:
        return "kernel (page faults, mmap)"
    if "libc" in dso:
        return "libc (memset, memcpy, malloc)"
    if "wasmtime" in symbol:
        return "wasmtime runtime (host)"
    if "aegis" in symbol:
        return "Aegis (host)"
    return "other host code"


def demangle(name):
    """The readable part of a Rust symbol name."""
    name = re.sub(r"::h[0-9a-f]{16}$", "", name or "?")
    try:
        out = subprocess.run(["c++filt", "-p", name], capture_output=True, text=True).stdout.strip()
        name = out or name
    except FileNotFoundError:
        pass
    return re.sub(r"::h[0-9a-f]{16}$", "", name)


def disassemble(text_file, offset, length):
    """The instructions (mnemonic and operands) of one function of a dump."""
    cmd = ["objdump", "-D", "-b", "binary", "-m", "i386:x86-64", "--no-show-raw-insn",
           f"--start-address={offset}", f"--stop-address={offset + length}", str(text_file)]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(\S.*)$", line)
        if m:
            out.append((int(m.group(1), 16), m.group(2).strip()))
    return out


class Dump:
    """The compiled code of one wasmtime variant, dumped by the bench's --perfmap."""

    def __init__(self, base):
        meta = json.loads(base.with_suffix(".functions.json").read_text())
        self.text = base.with_suffix(".text")
        self.address = meta["text_address"]
        self.functions = {f["index"]: f for f in meta["functions"]}

    def function_at(self, ip):
        off = ip - self.address
        for f in self.functions.values():
            if f["offset"] <= off < f["offset"] + f["len"]:
                return f
        return None

    def instructions(self, index):
        f = self.functions.get(index)
        return disassemble(self.text, f["offset"], f["len"]) if f else []


def bounds_check_at(ins, i):
    """Lines of an explicit bounds check ending at a load: the index compared
    with the memory's current length, and `cmovae` pointing an out-of-bounds
    access at address 0 (which traps)."""
    if ins[i].startswith("cmovae") and i >= 4:
        return range(i - 4, i + 2)
    return None


def fuel_check_at(ins, i):
    """Lines of a fuel check: the counter (negative, counting up) tested
    against zero, `jge` to the out-of-fuel path; with the block's charge
    (`add $n` to the same register) when it comes just before."""
    m = re.match(r"test\s+(%r\w+),(%r\w+)$", ins[i])
    if not (m and m.group(1) == m.group(2) and ins[i + 1].startswith("jge")):
        return None
    start = i
    for j in range(i - 1, max(i - 8, -1), -1):
        if re.match(rf"add\s+\$0x[0-9a-f]+,{re.escape(m.group(1))}$", ins[j]):
            start = j
            break
    return range(start, i + 2)


def epoch_check_at(ins, i):
    """Lines of an epoch check: the engine's epoch counter read through the
    pointer in the instance, compared with the store's deadline, `jae` to
    the slow path that runs the deadline callback."""
    m = re.match(r"mov\s+0x[0-9a-f]+\(%(?!rsp)\w+\),(%r\w+)$", ins[i])
    if not m:
        return None
    for j in range(i + 1, min(i + 4, len(ins))):
        if re.match(rf"mov\s+\({re.escape(m.group(1))}\),%r\w+$", ins[j]):
            for k in range(j + 1, min(j + 8, len(ins))):
                if ins[k].startswith("cmp"):
                    for jump in range(k + 1, min(k + 3, len(ins))):
                        if ins[jump].startswith("jae"):
                            return range(i, jump + 1)
    return None


def excerpt(instructions, finder):
    """The first sequence `finder` recognizes, as text lines."""
    ins = [x for _, x in instructions]
    for i in range(len(ins) - 1):
        found = finder(ins, i)
        if found:
            return [ins[j] for j in found]
    return []


def per_run_ms(count, meta):
    """Milliseconds of CPU per run that `count` samples stand for."""
    return count * SAMPLE_PERIOD_NS / 1e6 / max(meta["runs"], 1)


def where_time_goes(program, runs):
    """Lines: CPU time per run by place (compiled wasm, kernel, ...) under
    each profiled variant, and what Aegis adds over both wasmtime runs."""
    places = {}
    for v, (_, samples) in runs.items():
        for _, sym, dso in samples:
            counts = places.setdefault(place(sym, dso), {})
            counts[v] = counts.get(v, 0) + 1
    lines = [f"== {program}: where the CPU time of one run goes (ms per run; cpu-clock, "
             f"one sample per {SAMPLE_PERIOD_NS / 1e6} ms, which slows the runs a little)",
             f"{'':34}" + "".join(f"{v:>24}" for v in PROFILED),
             f"{'_start call, median CPU time':34}" + "".join(
                 f"{runs[v][0]['cpu_median_ns'] / 1e6:>21.2f} ms" for v in PROFILED)]
    for name, counts in sorted(places.items(), key=lambda kv: -sum(kv[1].values())):
        lines.append(f"{name:34}" + "".join(
            f"{per_run_ms(counts.get(v, 0), runs[v][0]):>21.2f} ms" for v in PROFILED))
    lines.append("  (samples of the whole loop: the _start call, instantiating, dropping the store;\n"
                 "  each variant ran in a process of its own, so differences of a few % are noise)")

    def split(v):
        wasm = per_run_ms(places.get("compiled wasm", {}).get(v, 0), runs[v][0])
        total = per_run_ms(sum(c.get(v, 0) for c in places.values()), runs[v][0])
        return wasm, total - wasm

    aegis = split(AEGIS)
    for peer, label in ((NO_LIMITS, "no limits"), (SAME, "wasmtime with the same limits")):
        other = split(peer)
        lines.append(f"Aegis - {label}: {aegis[0] - other[0]:+.2f} ms per run in compiled wasm, "
                     f"{aegis[1] - other[1]:+.2f} ms elsewhere.")
    aegis_host = per_run_ms(places.get("Aegis (host)", {}).get(AEGIS, 0), runs[AEGIS][0])
    lines += [f"Aegis's own host code: {aegis_host:.2f} ms per run.", ""]
    return lines


def top_host_symbols(runs, limit=8):
    """Lines: Aegis's samples outside compiled wasm, by symbol."""
    _, samples = runs[AEGIS]
    counts = {}
    for _, sym, dso in samples:
        if place(sym, dso) != "compiled wasm":
            counts[sym] = counts.get(sym, 0) + 1
    total = max(len(samples), 1)
    lines = [f"Aegis default, top symbols outside compiled wasm (% of {total} samples):"]
    for sym, n in sorted(counts.items(), key=lambda kv: -kv[1])[:limit]:
        lines.append(f"  {100 * n / total:5.1f}%  {demangle(sym)[:90]}")
    return lines + [""]


SIZE_VARIANTS = [NO_LIMITS, SAME, "wasmtime_fuel_off", "wasmtime_epochs_off",
                 "wasmtime_4gib_reservation"]


def hot_functions(runs, dumps, limit=5):
    """Lines: the hottest wasm functions with their time per run without and
    with the limits, and their size in instructions under each variant; and
    the function indexes, hottest first."""
    per_fn = {}
    for v in (NO_LIMITS, SAME):
        for ip, _, _ in runs[v][1]:
            f = dumps[v].function_at(ip)
            if f:
                counts = per_fn.setdefault(f["index"], {})
                counts[v] = counts.get(v, 0) + 1
    # The hottest functions that take at least 2 % of the samples.
    floor = 0.02 * len(runs[SAME][1])
    hot = [i for i in sorted(per_fn, key=lambda i: -per_fn[i].get(SAME, 0))[:limit]
           if per_fn[i].get(SAME, 0) >= floor]
    cols = ["ms none", "ms same", "ins none", "ins same", "ins -fuel", "ins -epochs", "ins 4GiB"]
    lines = ["Hottest wasm functions: CPU time per run with no limits and with Aegis's limits "
             "(wasmtime, the code Aegis runs), and",
             "  instructions in the function under each variant (-fuel: same limits without "
             "fuel; -epochs: without epochs; 4GiB: with wasmtime's reservation and guards).",
             f"  {'function':60}" + "".join(f"{c:>12}" for c in cols)]
    totals = [0] * len(SIZE_VARIANTS)
    for index in hot:
        name = demangle(dumps[SAME].functions[index]["name"] or f"function[{index}]")
        times = [per_run_ms(per_fn[index].get(v, 0), runs[v][0]) for v in (NO_LIMITS, SAME)]
        sizes = [len(dumps[v].instructions(index)) if v in dumps else 0 for v in SIZE_VARIANTS]
        totals = [t + n for t, n in zip(totals, sizes)]
        lines.append(f"  {name[:60]:60}" + "".join(f"{t:>12.2f}" for t in times)
                     + "".join(f"{n:>12}" for n in sizes))
    none, same, no_fuel, no_epochs, wide = totals
    if none:
        lines.append(f"In these functions the limits take the code from {none} to {same} "
                     f"instructions ({same / none - 1:+.0%}); of those, fuel accounts for "
                     f"{same - no_fuel}, epochs for {same - no_epochs}, Aegis's memory settings "
                     f"(explicit bounds checks) for {same - wide}.")
    return lines, hot


def check_excerpts(dumps, index):
    """Lines: one bounds, fuel and epoch check as compiled in a function."""
    code = dumps[SAME].instructions(index)
    checks = [
        ("an explicit bounds check (cmovae sends an out-of-bounds access to address 0)",
         bounds_check_at),
        ("a fuel check (jge: out of fuel)", fuel_check_at),
        ("an epoch check (jae: the deadline callback)", epoch_check_at),
    ]
    lines = []
    for label, finder in checks:
        found = excerpt(code, finder)
        if found:
            lines += ["", f"In the hottest function, {label}:"] + [f"    {x}" for x in found]
    return lines


def summarize_program(work, program):
    runs = {}
    for v in PROFILED:
        meta = json.loads((work / f"{program}-{v}.json").read_text())
        runs[v] = (meta, perf_samples(work / f"{program}-{v}.data", meta["window"]))
    dumps = {v: Dump(work / f"{program}-{v}") for v in SIZE_VARIANTS
             if (work / f"{program}-{v}.functions.json").exists()}
    lines = where_time_goes(program, runs) + top_host_symbols(runs)
    if NO_LIMITS in dumps and SAME in dumps:
        table, hot = hot_functions(runs, dumps)
        lines += table
        if hot:
            lines += check_excerpts(dumps, hot[0])
    return lines + [""]


def perf_summary(work, programs):
    work = pathlib.Path(work)
    lines = []
    for program in programs:
        lines += summarize_program(work, program)
    return "\n".join(lines).rstrip() + "\n"


def main(argv):
    if len(argv) >= 2 and argv[1] == "perf-summary":
        sys.stdout.write(perf_summary(argv[2], argv[3:]))
        return
    out_dir = argv[1] if len(argv) > 1 else "target/bench"
    print(section(out_dir))
    for item, target, met in targets(out_dir):
        print(f"- {item}: target {target}: {'n/a' if met is None else verdict(met)}")


if __name__ == "__main__":
    main(sys.argv)
