'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { aegis, expectCode, expectRejects, loaded } = require('./helpers')

test('callAsync resolves with the results', async () => {
  const { sandbox } = loaded()
  assert.equal(await sandbox.callAsync('add', 20, 22), 42)
  assert.equal(await sandbox.callAsync('add64', 1n, 2n), 3n)
  assert.deepEqual(await sandbox.callAsync('swap', 1, 2n), [2n, 1])
  assert.equal(await sandbox.callAsync('nothing'), undefined)
})

test('callAsync rejects with the same typed errors', async () => {
  const { sandbox } = loaded(undefined, { fuelLimit: 10000 })
  const err = await expectRejects(sandbox.callAsync('spin'), 'AEGIS_OUT_OF_FUEL')
  assert.equal(err.limit, 10000)
  await expectRejects(sandbox.callAsync('boom'), 'AEGIS_TRAP')
  await expectRejects(sandbox.callAsync('missing'), 'AEGIS_EXPORT_NOT_FOUND')
  await expectRejects(sandbox.callAsync('add', 'x', 1), 'AEGIS_SIGNATURE_MISMATCH')
  await expectRejects(sandbox.callAsync(), 'AEGIS_INVALID_ARGUMENT')
})

test('a spinning guest does not block the event loop', async () => {
  const { sandbox } = loaded(undefined, { fuelLimit: Infinity, timeout: 1.5 })
  let ticks = 0
  const timer = setInterval(() => { ticks += 1 }, 20)
  const started = Date.now()
  try {
    const err = await expectRejects(sandbox.callAsync('spin'), 'AEGIS_TIMEOUT')
    assert.equal(err.limit, 1.5)
  } finally {
    clearInterval(timer)
  }
  const elapsed = Date.now() - started
  assert.ok(elapsed >= 1400, `ran ${elapsed} ms`)
  assert.ok(ticks >= 20, `the interval ticked ${ticks} times while the guest ran`)
})

test('the sandbox is busy during callAsync; other uses are refused at once with AEGIS_BUSY', async () => {
  const { sandbox } = loaded(undefined, { fuelLimit: Infinity, timeout: 0.3 })
  const running = sandbox.callAsync('spin')
  assert.equal(sandbox.busy, true)
  const err = expectCode(() => sandbox.call('add', 1, 2), 'AEGIS_BUSY')
  assert.match(err.message, /sandbox is busy/)
  expectCode(() => sandbox.metrics, 'AEGIS_BUSY')
  expectCode(() => sandbox.reset(), 'AEGIS_BUSY')
  expectCode(() => sandbox.callVoid('nothing'), 'AEGIS_BUSY')
  expectCode(() => sandbox.registerFunc('env', 'f', () => {}), 'AEGIS_BUSY')
  await expectRejects(sandbox.callAsync('add', 1, 2), 'AEGIS_BUSY')
  await expectRejects(sandbox.runAsync(), 'AEGIS_BUSY')
  // Interrupting is the exception: it works while the call runs (tested in interrupt.test.js).
  assert.equal(sandbox.interruptHandle().pending, false)
  await expectRejects(running, 'AEGIS_TIMEOUT')
  assert.equal(sandbox.busy, false)
  assert.equal(sandbox.call('add', 1, 2), 3)
})

test('two sandboxes run async calls in parallel', async () => {
  const a = loaded().sandbox
  const b = loaded().sandbox
  const [x, y] = await Promise.all([a.callAsync('add', 1, 1), b.callAsync('add', 2, 2)])
  assert.deepEqual([x, y], [2, 4])
})

test('JS host functions run on the main thread during callAsync', async () => {
  const runtime = new aegis.Runtime()
  const sandbox = runtime.sandbox()
  const { isMainThread } = require('node:worker_threads')
  const seen = []
  sandbox.registerFunc('env', 'twice', (n) => { seen.push(isMainThread); return n * 2 }, { params: ['i32'], results: ['i32'] })
  sandbox.registerFunc('env', 'fail', () => { throw new SyntaxError('bad input') }, {})
  sandbox.loadModule(runtime.loadWat(`(module
    (import "env" "twice" (func $twice (param i32) (result i32)))
    (import "env" "fail" (func $fail))
    (func (export "quad") (param i32) (result i32) (call $twice (call $twice (local.get 0))))
    (func (export "explode") (call $fail)))`))
  assert.equal(await sandbox.callAsync('quad', 5), 20)
  assert.deepEqual(seen, [true, true])
  const err = await expectRejects(sandbox.callAsync('explode'), 'AEGIS_HOST_FUNCTION')
  assert.ok(err.cause instanceof SyntaxError)
  assert.equal(err.cause.message, 'bad input')
  assert.equal(sandbox.metrics.hostCalls, 3)
})

test('runAsync runs the default entry', async () => {
  const { sandbox } = loaded('(module (func (export "_start")))')
  assert.equal(await sandbox.runAsync(), undefined)
})
