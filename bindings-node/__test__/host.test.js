'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { aegis, expectCode } = require('./helpers')

const IMPORTS_WAT = `(module
  (import "env" "add64" (func $add64 (param i64 i64) (result i64)))
  (import "env" "scale" (func $scale (param f32 f64) (result f64)))
  (import "env" "pair" (func $pair (param i32) (result i32 i64)))
  (import "env" "log" (func $log (param i32)))
  (func (export "sum64") (param i64 i64) (result i64) (call $add64 (local.get 0) (local.get 1)))
  (func (export "scaled") (param f32 f64) (result f64) (call $scale (local.get 0) (local.get 1)))
  (func (export "pairs") (param i32) (result i32 i64) (call $pair (local.get 0)))
  (func (export "logTwice") (param i32) (call $log (local.get 0)) (call $log (local.get 0))))`

function withHost(overrides = {}) {
  const runtime = new aegis.Runtime({ fuelLimit: 1e7 })
  const sandbox = runtime.sandbox()
  const logged = []
  const fns = {
    add64: (a, b) => a + b,
    scale: (x, y) => x * y,
    pair: (n) => [n + 1, BigInt(n) * 10n],
    log: (n) => { logged.push(n) },
    ...overrides,
  }
  sandbox.registerFunc('env', 'add64', fns.add64, { params: ['i64', 'i64'], results: ['i64'] })
  sandbox.registerFunc('env', 'scale', fns.scale, { params: ['f32', 'f64'], results: ['f64'] })
  sandbox.registerFunc('env', 'pair', fns.pair, { params: ['i32'], results: ['i32', 'i64'] })
  sandbox.registerFunc('env', 'log', fns.log, { params: ['i32'] })
  sandbox.loadModule(runtime.loadWat(IMPORTS_WAT))
  return { runtime, sandbox, logged }
}

test('JS host functions get and return every value type', () => {
  const { sandbox, logged } = withHost()
  assert.equal(sandbox.call('sum64', 2n ** 40n, 5n), 2n ** 40n + 5n)
  assert.equal(sandbox.call('scaled', 1.5, 4), 6)
  assert.deepEqual(sandbox.call('pairs', 4), [5, 40n])
  sandbox.call('logTwice', 9)
  assert.deepEqual(logged, [9, 9])
  assert.equal(sandbox.lastCallMetrics.hostCalls, 2)
})

test('a throwing callback traps the guest; the original is the cause', () => {
  class Custom extends Error {}
  const original = new Custom('custom failure')
  const { sandbox } = withHost({ add64: () => { throw original } })
  const err = expectCode(() => sandbox.call('sum64', 1n, 2n), 'AEGIS_HOST_FUNCTION')
  assert.equal(err.cause, original)
  assert.ok(err.cause instanceof Custom)
  assert.match(err.message, /env\.add64/)
  assert.match(err.message, /custom failure/)
  // The sandbox is usable afterwards.
  assert.deepEqual(sandbox.call('pairs', 1), [2, 10n])
})

test('non-Error throws are kept as the cause too', () => {
  for (const thrown of ['a string', 42, null, { code: 7 }]) {
    const { sandbox } = withHost({ log: () => { throw thrown } })
    const err = expectCode(() => sandbox.call('logTwice', 1), 'AEGIS_HOST_FUNCTION')
    assert.equal(err.cause, thrown)
  }
})

test('wrong return values are AEGIS_HOST_FUNCTION without a cause', () => {
  for (const [overrides, pattern] of [
    [{ add64: () => 1.5 }, /returned float as the result, which is not a i64/],
    [{ add64: () => 'x' }, /returned string/],
    [{ add64: () => 2n ** 64n }, /out of range/],
    [{ scale: () => null }, /returned null/],
    [{ pair: () => [1] }, /array of 2 values/],
    [{ pair: () => 5 }, /array of 2 values/],
  ]) {
    const { sandbox } = withHost(overrides)
    const call = () => {
      sandbox.call('sum64', 1n, 1n)
      sandbox.call('scaled', 1, 1)
      sandbox.call('pairs', 1)
    }
    const err = expectCode(call, 'AEGIS_HOST_FUNCTION')
    assert.match(err.message, pattern)
    assert.equal(err.cause, undefined)
  }
})

test('a callback re-entering its own sandbox gets AEGIS_BUSY', () => {
  let inner
  const holder = {}
  const { sandbox } = withHost({
    log: () => {
      assert.equal(holder.sandbox.busy, true)
      holder.sandbox.call('pairs', 1)
    },
  })
  holder.sandbox = sandbox
  const err = expectCode(() => sandbox.call('logTwice', 1), 'AEGIS_HOST_FUNCTION')
  inner = err.cause
  assert.equal(inner.code, 'AEGIS_BUSY')
  assert.match(inner.message, /sandbox is busy/)
  assert.equal(sandbox.busy, false)
})

test('bad signatures are AEGIS_INVALID_ARGUMENT', () => {
  const sandbox = new aegis.Runtime().sandbox()
  expectCode(() => sandbox.registerFunc('env', 'f', () => {}, { params: ['i128'] }), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.registerFunc('env', 'f', () => {}, { results: ['v128'] }), 'AEGIS_INVALID_ARGUMENT')
})

test('a host function may read sandbox metrics only after the call', () => {
  const { sandbox } = withHost()
  sandbox.call('logTwice', 3)
  assert.equal(sandbox.metrics.hostCalls, 2)
})

test('JS host functions work in every synchronous path, including a start function', () => {
  const runtime = new aegis.Runtime()
  const sandbox = runtime.sandbox()
  const seen = []
  sandbox.registerFunc('env', 'note', (n) => { seen.push(n) }, { params: ['i32'] })
  sandbox.loadModule(runtime.loadWat(`(module
    (import "env" "note" (func $note (param i32)))
    (func $init (call $note (i32.const 1)))
    (start $init)
    (func (export "_start") (call $note (i32.const 2)))
    (func (export "go") (call $note (i32.const 3))))`))
  sandbox.run()
  sandbox.callVoid('go')
  sandbox.call('go')
  sandbox.reset()
  assert.deepEqual(seen, [1, 2, 3, 3, 1])
})

test('a callback may call into another sandbox whose guest calls back into JS', () => {
  const runtime = new aegis.Runtime()
  const wat = `(module
    (import "env" "f" (func $f (param i32) (result i32)))
    (func (export "go") (param i32) (result i32) (call $f (local.get 0))))`
  const inner = runtime.sandbox()
  inner.registerFunc('env', 'f', (n) => n * 10, { params: ['i32'], results: ['i32'] })
  inner.loadModule(runtime.loadWat(wat))
  const outer = runtime.sandbox()
  outer.registerFunc('env', 'f', (n) => inner.call('go', n) + 1, { params: ['i32'], results: ['i32'] })
  outer.loadModule(runtime.loadWat(wat))
  for (let i = 0; i < 50; i++) assert.equal(outer.call('go', i), i * 10 + 1)
})
