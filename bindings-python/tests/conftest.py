"""Shared guests (WAT) and fixtures for the aegis Python test suite."""

import pytest

import aegis

# Numeric exports of every type, state for reset, and hostile behaviour.
CORE_WAT = r"""
(module
  (memory (export "memory") 1)
  (global $counter (mut i32) (i32.const 0))
  (global (export "answer") i64 (i64.const 42))
  (table (export "table") 2 funcref)
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "add64") (param i64 i64) (result i64)
    (i64.add (local.get 0) (local.get 1)))
  (func (export "mulf32") (param f32 f32) (result f32)
    (f32.mul (local.get 0) (local.get 1)))
  (func (export "divf64") (param f64 f64) (result f64)
    (f64.div (local.get 0) (local.get 1)))
  (func (export "swap") (param i32 i64) (result i64 i32)
    (local.get 1) (local.get 0))
  (func (export "nothing"))
  (func (export "incr") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))
  (func (export "store") (param i32 i32)
    (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32)
    (i32.load (local.get 0)))
  (func (export "spin") (loop $l (br $l)))
  (func (export "grow") (param i32) (result i32)
    (memory.grow (local.get 0)))
  (func $recurse (export "recurse") (param i32) (result i32)
    (i32.add (i32.const 1) (call $recurse (local.get 0))))
  (func (export "boom") unreachable)
  (func (export "div") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1))))
"""

# Calls the host: env.offset () -> i32, env.log (ptr, len), env.pair (i32) -> (i32, i64).
HOST_WAT = r"""
(module
  (import "env" "offset" (func $offset (result i32)))
  (import "env" "log" (func $log (param i32 i32)))
  (import "env" "fscale" (func $fscale (param f64) (result f64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello from wasm")
  (func (export "add_offset") (param i32) (result i32)
    (i32.add (local.get 0) (call $offset)))
  (func (export "say") (call $log (i32.const 0) (i32.const 15)))
  (func (export "scale") (param f64) (result f64) (call $fscale (local.get 0)))
  (func (export "offset_twice") (result i32)
    (i32.add (call $offset) (call $offset))))
"""

# WASI preview 1 guest: output, exit status, env, clock, preopens.
WASI_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $fd_prestat_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\n")
  (data (i32.const 32) "oops\n")
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start") (call $write (i32.const 1) (i32.const 16) (i32.const 6)))
  (func (export "complain") (call $write (i32.const 2) (i32.const 32) (i32.const 5)))
  (func (export "exit") (param i32) (call $proc_exit (local.get 0)))
  (func (export "env_count") (result i32)
    (drop (call $environ_sizes_get (i32.const 100) (i32.const 104)))
    (i32.load (i32.const 100)))
  (func (export "now") (result i64)
    (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 200)))
    (i64.load (i32.const 200)))
  (func (export "prestat") (param i32) (result i32)
    (call $fd_prestat_get (local.get 0) (i32.const 300))))
"""


@pytest.fixture
def runtime():
    """A runtime with a small fuel budget so hostile loops end fast."""
    return aegis.Runtime(fuel_limit=5_000_000, timeout=10)


@pytest.fixture
def core_module(runtime):
    return runtime.load_wat(CORE_WAT)


@pytest.fixture
def sandbox(runtime, core_module):
    with runtime.sandbox(core_module) as sb:
        yield sb

# Sleeps in WASI: `sleep_forever` asks poll_oneoff for u64::MAX ns on the
# monotonic clock (like tests/hostile/corpus/poll_sleep.wat); `ready_then_*`
# first call the host's `env.ready` (so a test knows the guest is running).
SLEEP_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "env" "ready" (func $ready))
  (memory (export "memory") 1)
  (func $sleep_forever
    (i64.store (i32.const 0) (i64.const 7))           ;; userdata
    (i32.store8 (i32.const 8) (i32.const 0))          ;; tag: clock
    (i32.store (i32.const 16) (i32.const 1))          ;; id: monotonic
    (i64.store (i32.const 24) (i64.const -1))         ;; timeout: u64::MAX ns
    (i64.store (i32.const 32) (i64.const 0))          ;; precision
    (i32.store16 (i32.const 40) (i32.const 0))        ;; flags: relative
    (drop (call $poll (i32.const 0) (i32.const 4096) (i32.const 1) (i32.const 8192))))
  (func (export "sleep_forever") (call $sleep_forever))
  (func (export "ready_then_sleep") (call $ready) (call $sleep_forever))
  (func (export "ready_then_spin") (call $ready) (loop $l (br $l))))
"""

# A guest whose only work is one call to the host's `env.wait`.
WAIT_WAT = r"""
(module
  (import "env" "wait" (func $wait))
  (memory (export "memory") 1)
  (func (export "go") (call $wait)))
"""
