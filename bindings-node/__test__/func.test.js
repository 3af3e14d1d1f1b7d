'use strict'

// sandbox.func(name): a function bound to one export, the same as
// sandbox.call(name, ...args) but cheaper per call.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { aegis, expectCode, loaded } = require('./helpers')

const GUESTS = path.join(__dirname, '..', '..', 'target', 'guests', 'out')

/** What `fn` throws (it must throw). */
function thrown(fn) {
  try {
    fn()
  } catch (err) {
    return err
  }
  assert.fail('nothing was thrown')
}

test('a bound function converts values exactly as call does', () => {
  const { sandbox } = loaded()
  const add = sandbox.func('add')
  assert.equal(typeof add, 'function')
  assert.equal(add.name, 'add')
  assert.equal(add(2, 3), 5)
  assert.equal(add(0xffffffff, 1), 0, 'u32 range wraps like wasm')
  assert.equal(add(true, 1n), 2)
  assert.equal(sandbox.func('add64')(2n ** 62n, 2n ** 62n), -(2n ** 63n))
  assert.equal(sandbox.func('half32')(3), 1.5)
  assert.deepEqual(sandbox.func('swap')(7, -9n), [-9n, 7])
  assert.equal(sandbox.func('nothing')(), undefined)
  assert.equal(sandbox.lastCallMetrics.calls, 1)
  assert.equal(sandbox.metrics.calls, 7)
})

test('a bound function throws what call throws, with the same details', () => {
  const { sandbox } = loaded()
  const add = sandbox.func('add')
  for (const args of [[1], [1, 2, 3], ['1', 2], [1.5, 1], [{}, 1], [2 ** 32, 1]]) {
    const viaCall = thrown(() => sandbox.call('add', ...args))
    const viaFunc = thrown(() => add(...args))
    assert.ok(viaFunc instanceof Error)
    assert.equal(viaFunc.code, viaCall.code)
    assert.equal(viaFunc.message, viaCall.message)
    assert.equal(viaFunc.given, viaCall.given)
  }
  expectCode(() => sandbox.func('spin')(), 'AEGIS_OUT_OF_FUEL')
  expectCode(() => sandbox.func('boom')(), 'AEGIS_TRAP')
  assert.equal(add(1, 2), 3, 'the sandbox is usable after a failed call')
})

test('a missing export throws AEGIS_EXPORT_NOT_FOUND when called; a bad name at once', () => {
  const { sandbox } = loaded()
  const nope = sandbox.func('nope')
  const err = expectCode(() => nope(), 'AEGIS_EXPORT_NOT_FOUND')
  assert.equal(err.name, 'nope')
  assert.ok(err.available.includes('add'))
  expectCode(() => sandbox.func(42), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.func(), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => new aegis.Runtime().sandbox().func('add')(1, 2), 'AEGIS_INVALID_ARGUMENT')
})

test('a bound function follows reset and loadModule: it is bound to the sandbox and the name', () => {
  const { runtime, sandbox } = loaded()
  const bump = sandbox.func('bump')
  assert.equal(bump(), 1)
  assert.equal(bump(), 2)
  sandbox.reset()
  assert.equal(bump(), 1, 'the fresh instance')
  sandbox.loadModule(runtime.loadWat('(module (func (export "bump") (result i32) (i32.const 40)))'))
  assert.equal(bump(), 40, 'the new module\'s export of that name')
  sandbox.loadModule(runtime.loadWat('(module (func (export "other")))'))
  expectCode(() => bump(), 'AEGIS_EXPORT_NOT_FOUND')
})

test('a bound function is busy-checked like call, and keeps working from host functions of other sandboxes', () => {
  const runtime = new aegis.Runtime()
  const wat = `(module
    (import "env" "f" (func $f (param i32) (result i32)))
    (func (export "go") (param i32) (result i32) (call $f (local.get 0))))`
  const inner = runtime.sandbox()
  inner.registerFunc('env', 'f', (n) => n * 10, { params: ['i32'], results: ['i32'] })
  inner.loadModule(runtime.loadWat(wat))
  const innerGo = inner.func('go')
  const outer = runtime.sandbox()
  let outerGo
  outer.registerFunc('env', 'f', (n) => {
    if (n < 0) return outerGo(1)
    return innerGo(n) + 1
  }, { params: ['i32'], results: ['i32'] })
  outer.loadModule(runtime.loadWat(wat))
  outerGo = outer.func('go')
  for (let i = 0; i < 50; i++) assert.equal(outerGo(i), i * 10 + 1)
  const err = expectCode(() => outerGo(-1), 'AEGIS_HOST_FUNCTION')
  assert.equal(err.cause.code, 'AEGIS_BUSY')
})

test('a bound function outlives references to its sandbox', () => {
  const add = loaded().sandbox.func('add')
  // Allocate enough to give the collector a reason to run.
  for (let i = 0; i < 200; i++) new aegis.Runtime().sandbox()
  if (global.gc) global.gc()
  assert.equal(add(20, 22), 42)
})

test('calls take any number of arguments (more than fit the fast path)', () => {
  const params = Array.from({ length: 12 }, () => 'i32').join(' ')
  const sum = Array.from({ length: 11 }, () => 'i32.add').join(' ')
  const gets = Array.from({ length: 12 }, (_, i) => `(local.get ${i})`).join(' ')
  const { sandbox } = loaded(`(module (func (export "sum12") (param ${params}) (result i32) ${gets} ${sum}))`)
  const args = Array.from({ length: 12 }, (_, i) => i + 1)
  assert.equal(sandbox.call('sum12', ...args), 78)
  assert.equal(sandbox.func('sum12')(...args), 78)
  expectCode(() => sandbox.func('sum12')(...args, 13), 'AEGIS_SIGNATURE_MISMATCH')
})

test('export names of any length and script reach the core intact', () => {
  const long = 'x'.repeat(300)
  const { sandbox } = loaded(`(module
    (func (export "${long}") (result i32) (i32.const 1))
    (func (export "grüße-😀") (result i32) (i32.const 2)))`)
  assert.equal(sandbox.call(long), 1)
  assert.equal(sandbox.func(long)(), 1)
  assert.equal(sandbox.call('grüße-😀'), 2)
  assert.equal(sandbox.func('grüße-😀')(), 2)
  const err = expectCode(() => sandbox.call(`${long}y`), 'AEGIS_EXPORT_NOT_FOUND')
  assert.equal(err.name.length, 301)
})

test('a bound function calls a component export with WIT values', () => {
  const runtime = new aegis.Runtime()
  const sandbox = runtime.sandbox()
  sandbox.loadModule(runtime.loadFile(path.join(GUESTS, 'values.wasm')))
  const echo = sandbox.func('echo-record')
  const point = { x: -1, y: 2, label: 'p' }
  assert.deepEqual(echo(point), point)
  assert.equal(sandbox.func('echo-string')('héllo'), 'héllo')
  expectCode(() => sandbox.func('echo-u8')(256), 'AEGIS_INVALID_ARGUMENT')
})

test('JS host functions run from a bound function, from deep guest recursion, and beside WASI', () => {
  const DOWN = `(module
    (import "env" "note" (func $note (param i32) (result i32)))
    (func $down (export "down") (param i32) (result i32)
      (if (result i32) (local.get 0)
        (then (call $down (i32.sub (local.get 0) (i32.const 1))))
        (else (call $note (i32.const 7))))))`
  const withNote = (options) => {
    const runtime = new aegis.Runtime(options)
    const sandbox = runtime.sandbox()
    const seen = []
    sandbox.registerFunc('env', 'note', (n) => { seen.push(n); return n + 1 }, { params: ['i32'], results: ['i32'] })
    sandbox.loadModule(runtime.loadWat(DOWN))
    return { runtime, down: sandbox.func('down'), seen }
  }
  const { runtime, down, seen } = withNote()
  assert.equal(down(0), 8)
  assert.equal(down(5000), 8, 'JS runs below 5000 guest frames')
  assert.deepEqual(seen, [7, 7])
  expectCode(() => down(10_000_000), 'AEGIS_STACK_OVERFLOW')
  // A guest allowed more stack than V8 leaves JS on the JS thread runs on a
  // helper thread, where JS still runs below its deepest frames.
  const deep = withNote({ stackLimit: '4MiB' })
  assert.equal(deep.down(30_000), 8)
  assert.deepEqual(deep.seen, [7])
  // A module that can make the host wait (WASI) runs its guest on a helper
  // thread too; its JS host functions still run on this thread.
  const wasi = runtime.sandbox()
  wasi.registerFunc('env', 'note', (n) => n * 2, { params: ['i32'], results: ['i32'] })
  wasi.loadModule(runtime.loadWat(`(module
    (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
    (import "env" "note" (func $note (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "go") (param i32) (result i32) (drop (call $yield)) (call $note (local.get 0))))`))
  assert.equal(wasi.func('go')(21), 42)
  assert.equal(wasi.call('go', 4), 8)
})
