'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { aegis, expectCode, loaded } = require('./helpers')

test('call converts every value type; i64 is a BigInt both ways', () => {
  const { sandbox } = loaded()
  assert.equal(sandbox.call('add', 2, 3), 5)
  assert.equal(sandbox.call('add', 0xffffffff, 1), 0, 'u32 range wraps like wasm')
  assert.equal(sandbox.call('add64', 2n ** 62n, 2n ** 62n), -(2n ** 63n))
  assert.equal(sandbox.call('half32', 3), 1.5)
  assert.equal(sandbox.call('half64', 1), 0.5)
  assert.deepEqual(sandbox.call('swap', 7, -9n), [-9n, 7])
  assert.equal(sandbox.call('nothing'), undefined)
})

test('callVoid, run and defaultEntry', () => {
  const { sandbox } = loaded(`(module
    (global $g (mut i32) (i32.const 0))
    (func (export "main") (result i32) (global.set $g (i32.const 4)) (i32.const 42))
    (func (export "get") (result i32) (global.get $g)))`)
  assert.equal(sandbox.defaultEntry, 'main')
  assert.equal(sandbox.run(), 42)
  assert.equal(sandbox.callVoid('get'), undefined)
  assert.equal(sandbox.call('get'), 4)
})

test('reset restores the initial state', () => {
  const { sandbox } = loaded()
  assert.equal(sandbox.call('bump'), 1)
  assert.equal(sandbox.call('bump'), 2)
  sandbox.reset()
  assert.equal(sandbox.call('bump'), 1)
})

test('metrics and lastCallMetrics report calls, fuel and memory', () => {
  const { sandbox } = loaded()
  sandbox.call('add', 1, 2)
  sandbox.call('bump')
  const last = sandbox.lastCallMetrics
  assert.equal(last.calls, 1)
  assert.ok(last.fuelConsumed > 0)
  assert.equal(last.memoryCurrent, 65536)
  assert.ok(last.wallTime >= 0 && last.wallTime < 5, `wallTime ${last.wallTime} s`)
  assert.deepEqual(last.denied, [])
  const total = sandbox.metrics
  assert.equal(total.calls, 2)
  assert.ok(total.fuelConsumed > last.fuelConsumed)
  assert.equal(total.memoryPeak, 65536)
  assert.equal(total.hostCalls, 0)
  assert.equal(total.deniedCount, 0)
})

test('per-sandbox options override the runtime', () => {
  const { sandbox } = loaded(undefined, { fuelLimit: 1e9 }, { fuelLimit: 1000 })
  const err = expectCode(() => sandbox.call('spin'), 'AEGIS_OUT_OF_FUEL')
  assert.equal(err.limit, 1000)
})

test('arguments follow the core rule: wrong kinds are AEGIS_SIGNATURE_MISMATCH, out of range AEGIS_INVALID_ARGUMENT', () => {
  const { sandbox } = loaded()
  for (const bad of ['1', undefined, null, {}, [1]]) {
    const err = expectCode(() => sandbox.call('add', bad, 1), 'AEGIS_SIGNATURE_MISMATCH')
    assert.equal(err.expected, '(i32, i32) -> (i32)')
  }
  assert.equal(sandbox.call('add', true, 1), 2, 'a boolean is 0 or 1')
  expectCode(() => sandbox.call('add', 1.5, 1), 'AEGIS_SIGNATURE_MISMATCH')
  const err = expectCode(() => sandbox.call('add', 2 ** 32, 1), 'AEGIS_INVALID_ARGUMENT')
  assert.match(err.message, /argument 1 of `add`/)
  expectCode(() => sandbox.call('add64', 2n ** 64n, 1n), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.call(), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.call(42), 'AEGIS_INVALID_ARGUMENT')
})

test('wrong wasm types and counts are AEGIS_SIGNATURE_MISMATCH', () => {
  const { sandbox } = loaded()
  let err = expectCode(() => sandbox.call('add', 1), 'AEGIS_SIGNATURE_MISMATCH')
  assert.equal(err.name, 'add')
  assert.equal(err.expected, '(i32, i32) -> (i32)')
  assert.equal(err.given, 'arguments (int)')
  // An integer is an integer, BigInt or number (the core's rule).
  assert.equal(sandbox.call('add', 1n, 2), 3)
  assert.equal(sandbox.call('add64', 1, 2), 3n)
  expectCode(() => sandbox.call('nothing', 1), 'AEGIS_SIGNATURE_MISMATCH')
})

test('calling before loading a module, or a missing export, fails cleanly', () => {
  const runtime = new aegis.Runtime()
  const empty = runtime.sandbox()
  expectCode(() => empty.call('add', 1, 2), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => empty.run(), 'AEGIS_INVALID_ARGUMENT')
  const { sandbox } = loaded()
  const err = expectCode(() => sandbox.call('nope'), 'AEGIS_EXPORT_NOT_FOUND')
  assert.equal(err.name, 'nope')
  assert.ok(err.available.includes('add'))
  expectCode(() => sandbox.call('memory'), 'AEGIS_EXPORT_NOT_FOUND')
  expectCode(() => sandbox.defaultEntry, 'AEGIS_EXPORT_NOT_FOUND')
})

test('a module from another runtime is refused', () => {
  const a = new aegis.Runtime()
  const b = new aegis.Runtime()
  const module = a.loadWat('(module)')
  expectCode(() => b.sandbox().loadModule(module), 'AEGIS_INVALID_ARGUMENT')
})

test('captured stdout and stderr', () => {
  const wat = `(module
    (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hello out\\n")
    (data (i32.const 32) "oops\\n")
    (func (export "_start")
      (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 10))
      (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (i32.store (i32.const 0) (i32.const 32)) (i32.store (i32.const 4) (i32.const 5))
      (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))))`
  const { sandbox } = loaded(wat, {}, { captureOutput: true })
  assert.equal(sandbox.run(), undefined)
  assert.ok(Buffer.isBuffer(sandbox.stdout))
  assert.equal(sandbox.stdout.toString(), 'hello out\n')
  assert.equal(sandbox.stderr.toString(), 'oops\n')
  const quiet = loaded(wat).sandbox
  quiet.run()
  assert.equal(quiet.stdout.length, 0, 'output is discarded unless captured')
})
