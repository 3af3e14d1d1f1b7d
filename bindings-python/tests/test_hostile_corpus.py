"""The hostile-guest corpus (tests/hostile/expectations.tsv) through the Python binding.

One test per case: each must reach its expected outcome with the secret next to
the scratch grant unchanged. The observed outcomes are written to
target/hostile/python.tsv (name<TAB>outcome) for the cross-front-end table, in
the order of the expectations file. The reference runner is
aegis-core/tests/hostile.rs; this one does the same through ``aegis.Runtime``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import aegis

ROOT = Path(__file__).resolve().parents[2]
EXPECTATIONS = ROOT / "tests" / "hostile" / "expectations.tsv"
SECRET = "TOP SECRET"


@dataclass
class Case:
    """One line of the expectations file."""

    name: str
    module: str
    entry: str
    options: List[tuple] = field(default_factory=list)
    expect: str = ""


def load_cases() -> List[Case]:
    cases = []
    for line in EXPECTATIONS.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cols = line.split("\t")
        assert len(cols) == 5, f"bad expectation line: {line!r}"
        options = []
        if cols[3] != "-":
            for item in cols[3].split(","):
                key, _, value = item.partition("=")
                options.append((key, value))
        cases.append(Case(cols[0], cols[1], cols[2], options, cols[4]))
    return cases


CASES = load_cases()

# Observed outcome per case name, written out once the module's tests are done.
OBSERVED: Dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def report():
    """Writes target/hostile/python.tsv after the last case of this module."""
    yield
    out = ROOT / "target" / "hostile"
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"{c.name}\t{OBSERVED[c.name]}\n" for c in CASES if c.name in OBSERVED]
    (out / "python.tsv").write_text("".join(lines))


def make_scratch(tmp: Path) -> Path:
    """$SCRATCH with inside.txt, next to ../secret.txt, plus a symlink escaping to it."""
    scratch = tmp / "scratch"
    scratch.mkdir()
    (scratch / "inside.txt").write_text("inside")
    (tmp / "secret.txt").write_text(SECRET)
    (scratch / "link-out").symlink_to("../secret.txt")
    return scratch


def runtime_options(case: Case, scratch: Path) -> Dict[str, Any]:
    """Translates the case's options into ``aegis.Runtime`` keywords."""
    sub = lambda v: v.replace("$SCRATCH", str(scratch))  # noqa: E731
    opts: Dict[str, Any] = {}
    argv = [case.module]
    for key, value in case.options:
        if key == "fuel":
            opts["fuel_limit"] = int(value)
        elif key == "no_fuel":
            opts["fuel_limit"] = None
        elif key == "timeout_ms":
            opts["timeout"] = int(value) / 1000
        elif key == "memory":
            opts["memory_limit"] = int(value)
        elif key == "stack":
            opts["stack_limit"] = int(value)
        elif key == "table_elements":
            opts["table_elements_limit"] = int(value)
        elif key == "handles":
            opts["handle_limit"] = int(value)
        elif key == "capture":
            opts["capture_output"] = int(value)
        elif key == "result_limit":
            opts["result_limit"] = int(value)
        elif key in ("allow_read", "allow_write"):
            opts.setdefault(key, []).append(sub(value))
        elif key == "args":
            argv.extend(sub(value).split(" "))
        else:
            raise AssertionError(f"{case.name}: unknown option {key}")
    opts["args"] = argv
    return opts


class Reentry:
    """What the `reenter` host function saw when it called its own sandbox."""

    def __init__(self) -> None:
        self.sandbox: Optional[aegis.Sandbox] = None
        self.refusal: Optional[BaseException] = None


def register_host(sandbox: aegis.Sandbox, reentry: Reentry) -> None:
    """The standard `aegis_test` host functions."""

    def fail():
        raise RuntimeError("refused by the host")

    def panic():
        raise ZeroDivisionError("host function panicked on purpose")

    def reenter():
        assert reentry.sandbox is not None, "no sandbox"
        try:
            reentry.sandbox.call("noop")
        except aegis.AegisError as err:
            reentry.refusal = err
            raise

    sandbox.register_func("aegis_test", "ok", lambda x: x + 1, params=["i32"], results=["i32"])
    sandbox.register_func("aegis_test", "fail", fail, results=["i32"])
    sandbox.register_func("aegis_test", "panic", panic)
    sandbox.register_func("aegis_test", "reenter", reenter)


def module_path(case: Case) -> Path:
    if case.module.startswith("guest:"):
        return ROOT / "target" / "guests" / "out" / case.module[len("guest:"):]
    return ROOT / "tests" / "hostile" / case.module


# How far past its limit a call may end (as in aegis-core/tests/deadlines.rs).
SLACK = 0.25

# The input of `bytes:` and `str:` entries.
INPUT = "hello aegis"


def call_entry(sandbox: aegis.Sandbox, entry: str) -> None:
    """Calls the case's entry: `_run`; `bytes:NAME` / `str:NAME` through the
    bytes convention with INPUT; `wit:NAME` / `wit:NAME:TEXT` a component
    export with no argument or the one string TEXT; else a core export."""
    kind, _, rest = entry.partition(":")
    if entry == "_run":
        sandbox.run()
    elif kind == "bytes" and rest:
        sandbox.call_bytes(rest, INPUT.encode())
    elif kind == "str" and rest:
        sandbox.call_str(rest, INPUT)
    elif kind == "wit" and rest:
        name, sep, text = rest.partition(":")
        sandbox.call(name, *([text] if sep else []))
    else:
        sandbox.call(entry)


def observe(case: Case, scratch: Path, reentry: Reentry):
    """Runs one case: (outcome code or "ok", denied capabilities, final error),
    and checks that a call ending with `timeout` ended on time."""
    runtime = aegis.Runtime(**runtime_options(case, scratch))
    try:
        module = runtime.load_file(module_path(case))
    except aegis.AegisError as err:
        return err.code, [], err
    if case.entry == "-":
        return "ok", [], None
    with runtime.sandbox() as sandbox:
        register_host(sandbox, reentry)
        try:
            sandbox.load_module(module)
        except aegis.AegisError as err:
            return err.code, [], err
        reentry.sandbox = sandbox
        error = None
        start = time.monotonic()
        try:
            call_entry(sandbox, case.entry)
        except aegis.AegisError as err:
            error = err
        elapsed = time.monotonic() - start
        if isinstance(error, aegis.AegisTimeoutError):
            # Whether the guest computes or sleeps in WASI (poll_sleep_*, sleep_p1/p2).
            assert elapsed <= error.limit + SLACK, f"{case.name} ended after {elapsed:.3f} s"
        denied = [d.capability for d in sandbox.metrics.denied]
        return (error.code if error else "ok"), denied, error


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(case: Case, tmp_path: Path):
    scratch = make_scratch(tmp_path)
    reentry = Reentry()
    outcome, denied, error = observe(case, scratch, reentry)
    cap = case.expect[len("denied:"):] if case.expect.startswith("denied:") else None
    OBSERVED[case.name] = f"denied:{cap}" if cap and cap in denied else outcome

    assert (tmp_path / "secret.txt").read_text() == SECRET, "the secret was modified"
    if cap:
        assert cap in denied, f"expected a refusal of {cap}, got {outcome} (denied {denied})"
    else:
        assert outcome == case.expect, f"expected {case.expect}, got {outcome}: {error}"
    if case.name == "host_reenter":
        # The nested call was refused at once as busy, and that refusal is the cause.
        assert isinstance(reentry.refusal, aegis.BusyError), reentry.refusal
        assert reentry.refusal.code == "busy"
        assert isinstance(error, aegis.HostFunctionError)
        assert error.__cause__ is reentry.refusal
    if case.name == "host_panic":
        assert isinstance(error.__cause__, ZeroDivisionError)


def test_every_case_has_a_unique_name():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(names) >= 40
    # Guests that block the host instead of computing still end at their deadline.
    assert {"poll_sleep_5s", "poll_sleep_forever", "poll_sleep_many", "sleep_p1", "sleep_p2"} <= set(
        names
    )
    # Every entry form of the data exchange is run.
    entries = {c.entry.split(":")[0] for c in CASES}
    assert {"bytes", "str", "wit"} <= entries
    assert any(c.entry.count(":") == 2 for c in CASES), "a wit:NAME:TEXT case"
    assert any(k == "result_limit" for c in CASES for k, _ in c.options)


def test_handle_limit_is_a_runtime_and_sandbox_option(tmp_path: Path):
    """`handle_limit` reaches the core: per runtime, and overridden per sandbox."""
    assert aegis.Runtime().limits.handles == 1024
    scratch = make_scratch(tmp_path)
    argv = ["probe", "openmany", str(scratch / "inside.txt"), "100"]
    runtime = aegis.Runtime(
        allow_read=[str(scratch)], args=argv, capture_output=True, handle_limit=32
    )
    assert runtime.limits.handles == 32
    module = runtime.load_file(ROOT / "target" / "guests" / "out" / "probe-p1.wasm")
    with runtime.sandbox(module) as tight:
        with pytest.raises(aegis.MemoryLimitExceededError):
            tight.run()
    with runtime.sandbox(module, handle_limit=4096) as roomy:
        assert roomy.limits.handles == 4096
        roomy.run()
        assert b"opened 100" in roomy.stdout
    with pytest.raises(aegis.InvalidArgumentError):
        aegis.Runtime(handle_limit="many")
