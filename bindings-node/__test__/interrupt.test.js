'use strict'

// Stopping calls from JS: sandbox.interrupt(), InterruptHandle, { signal }.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { setTimeout: sleep } = require('node:timers/promises')
const { aegis, PACKAGE_DIR, expectCode, expectRejects, loaded } = require('./helpers')

const POLL_SLEEP = path.join(__dirname, '..', '..', 'tests', 'hostile', 'corpus', 'poll_sleep.wat')

/** How long an interrupt may take to end a call (the core promises a few ms; the machine is shared). */
const LATENCY_BUDGET_MS = 300

/** Spins without fuel metering, plus a counter that shows whether guest code ran. */
const SPIN_WAT = `(module
  (global $runs (mut i32) (i32.const 0))
  (func (export "spin") (loop $l (br $l)))
  (func (export "bump") (result i32)
    (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
    (global.get $runs))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`

/** A sandbox that only its 30 s timeout would stop. */
function spinner() {
  return loaded(SPIN_WAT, { fuelLimit: Infinity, timeout: 30 }).sandbox
}

function sleeper() {
  const runtime = new aegis.Runtime({ fuelLimit: Infinity, timeout: 30 })
  const sandbox = runtime.sandbox()
  sandbox.loadModule(runtime.loadFile(POLL_SLEEP))
  return sandbox
}

/** Starts `promise`, lets it run `runMs`, calls `stop()`; returns the rejection and the latency. */
async function stopAfter(promise, runMs, stop, code = 'AEGIS_INTERRUPTED') {
  await sleep(runMs)
  const stoppedAt = performance.now()
  stop()
  const err = await expectRejects(promise, code)
  return { err, latency: performance.now() - stoppedAt }
}

test('interrupt() stops a spinning callAsync', async (t) => {
  const sandbox = spinner()
  const running = sandbox.callAsync('spin')
  const { err, latency } = await stopAfter(running, 200, () => sandbox.interrupt())
  t.diagnostic(`interrupt latency (spin): ${latency.toFixed(1)} ms`)
  assert.ok(latency < LATENCY_BUDGET_MS, `took ${latency} ms`)
  assert.equal(err.aegisCode, 'interrupted')
  assert.ok(err.elapsed >= 0.15 && err.elapsed < 5, `elapsed ${err.elapsed} s`)
  assert.match(err.message, /^interrupted after /)
  // The request was consumed by the call it stopped.
  assert.equal(sandbox.busy, false)
  assert.equal(sandbox.interruptHandle().pending, false)
  assert.equal(await sandbox.callAsync('add', 1, 2), 3)
})

test('interrupt() stops a guest sleeping in WASI poll_oneoff', async (t) => {
  const sandbox = sleeper()
  const running = sandbox.callAsync('sleep_forever')
  const { err, latency } = await stopAfter(running, 200, () => sandbox.interrupt())
  t.diagnostic(`interrupt latency (poll_oneoff): ${latency.toFixed(1)} ms`)
  assert.ok(latency < LATENCY_BUDGET_MS, `took ${latency} ms`)
  assert.ok(err.elapsed >= 0.15, `elapsed ${err.elapsed} s`)
  assert.equal(sandbox.busy, false)
})

test('an InterruptHandle stops calls like interrupt() and reports pending requests', async () => {
  const sandbox = spinner()
  const handle = sandbox.interruptHandle()
  assert.ok(handle instanceof aegis.InterruptHandle)
  assert.equal(handle.pending, false)
  const running = sandbox.callAsync('spin')
  const { latency } = await stopAfter(running, 100, () => handle.interrupt())
  assert.ok(latency < LATENCY_BUDGET_MS, `took ${latency} ms`)
  assert.equal(handle.pending, false)
  assert.equal(expectCode(() => new aegis.InterruptHandle(), 'AEGIS_INVALID_ARGUMENT').message.includes('sandbox.interruptHandle()'), true)
})

test('with no call running, interrupt() stops the next call before guest code runs', () => {
  const sandbox = spinner()
  const handle = sandbox.interruptHandle()
  sandbox.interrupt()
  sandbox.interrupt() // requests do not accumulate
  assert.equal(handle.pending, true)
  const err = expectCode(() => sandbox.call('bump'), 'AEGIS_INTERRUPTED')
  assert.ok(err.elapsed < 0.1, `elapsed ${err.elapsed} s`)
  assert.equal(handle.pending, false)
  // The guest never ran: the counter starts from 0.
  assert.equal(sandbox.call('bump'), 1)
})

test('a host function can interrupt the call it serves', () => {
  const runtime = new aegis.Runtime()
  const sandbox = runtime.sandbox()
  let after = 0
  sandbox.registerFunc('env', 'stop', () => { sandbox.interrupt() })
  sandbox.registerFunc('env', 'after', () => { after += 1 })
  sandbox.loadModule(runtime.loadWat(`(module
    (import "env" "stop" (func $stop))
    (import "env" "after" (func $after))
    (func (export "go") (call $stop) (call $after)))`))
  expectCode(() => sandbox.call('go'), 'AEGIS_INTERRUPTED')
  assert.equal(after, 0, 'the guest did not continue after the host function returned')
})

test('AbortSignal.timeout(200) interrupts a spinning callAsync', async (t) => {
  const sandbox = spinner()
  const started = performance.now()
  const err = await expectRejects(sandbox.callAsync('spin', { signal: AbortSignal.timeout(200) }), 'AEGIS_INTERRUPTED')
  const took = performance.now() - started
  t.diagnostic(`AbortSignal.timeout(200) ended the call after ${took.toFixed(1)} ms`)
  assert.ok(took >= 190 && took < 200 + LATENCY_BUDGET_MS, `took ${took} ms`)
  assert.ok(err.cause instanceof DOMException, `cause: ${err.cause}`)
  assert.equal(err.cause.name, 'TimeoutError')
  assert.equal(sandbox.interruptHandle().pending, false)
  assert.equal(await sandbox.callAsync('add', 2, 3), 5)
})

test('aborting a controller interrupts a guest sleeping in WASI', async (t) => {
  const sandbox = sleeper()
  const controller = new AbortController()
  const running = sandbox.callAsync('sleep_5s', { signal: controller.signal })
  const reason = new Error('user went away')
  const { err, latency } = await stopAfter(running, 150, () => controller.abort(reason))
  t.diagnostic(`abort latency (poll_oneoff): ${latency.toFixed(1)} ms`)
  assert.ok(latency < LATENCY_BUDGET_MS, `took ${latency} ms`)
  assert.equal(err.cause, reason)
})

test('an already-aborted signal rejects without running the guest', async () => {
  const sandbox = spinner()
  const controller = new AbortController()
  const reason = new RangeError('cancelled early')
  controller.abort(reason)
  const calls = sandbox.metrics.calls
  const err = await expectRejects(sandbox.callAsync('bump', { signal: controller.signal }), 'AEGIS_INTERRUPTED')
  assert.equal(err.cause, reason)
  assert.equal(err.elapsed, 0)
  assert.equal(sandbox.busy, false)
  assert.equal(sandbox.interruptHandle().pending, false, 'no request is left for the next call')
  assert.equal(sandbox.metrics.calls, calls)
  assert.equal(sandbox.call('bump'), 1, 'the guest never ran')
  await expectRejects(sandbox.runAsync({ signal: controller.signal }), 'AEGIS_INTERRUPTED')
})

test('a signal is disconnected once its call settles', async () => {
  const sandbox = spinner()
  const controller = new AbortController()
  let listeners = 0
  const { signal } = controller
  const add = signal.addEventListener.bind(signal)
  const remove = signal.removeEventListener.bind(signal)
  signal.addEventListener = (...a) => { listeners += 1; add(...a) }
  signal.removeEventListener = (...a) => { listeners -= 1; remove(...a) }
  for (let i = 0; i < 5; i++) {
    assert.equal(await sandbox.callAsync('add', i, 1, { signal }), i + 1)
  }
  await expectRejects(sandbox.callAsync('missing', { signal }), 'AEGIS_EXPORT_NOT_FOUND')
  assert.equal(listeners, 0, 'every listener was removed')
  // Aborting now touches no call: nothing is pending, the next call runs.
  controller.abort()
  assert.equal(sandbox.interruptHandle().pending, false)
  assert.equal(await sandbox.callAsync('add', 1, 1), 2)
  assert.equal(sandbox.call('bump'), 1)
})

test('an abort racing with the end of a call never leaks into the next call', async (t) => {
  // Abort at the moment the tiny guest starts or returns, many times: each
  // outcome is either the result or AEGIS_INTERRUPTED (before guest code
  // ran), and no interrupt request is ever left for the next call.
  const sandbox = spinner()
  let resolved = 0
  let interrupted = 0
  for (let i = 0; i < 1000; i++) {
    const controller = new AbortController()
    const running = sandbox.callAsync('add', i, 1, { signal: controller.signal })
    if (i % 3 === 0) controller.abort()
    else if (i % 3 === 1) queueMicrotask(() => controller.abort())
    else setImmediate(() => controller.abort())
    try {
      assert.equal(await running, i + 1)
      resolved += 1
    } catch (err) {
      assert.equal(err.code, 'AEGIS_INTERRUPTED', err.message)
      interrupted += 1
    }
    assert.equal(sandbox.interruptHandle().pending, false, `a request was left behind (round ${i})`)
    assert.equal(sandbox.call('add', 1, 1), 2)
  }
  t.diagnostic(`${resolved} calls finished first, ${interrupted} were interrupted`)
})

test('runAsync takes { signal } too', async () => {
  const { sandbox } = loaded('(module (func (export "_start") (loop $l (br $l))))', { fuelLimit: Infinity, timeout: 30 })
  const err = await expectRejects(sandbox.runAsync({ signal: AbortSignal.timeout(100) }), 'AEGIS_INTERRUPTED')
  assert.equal(err.cause.name, 'TimeoutError')
  await expectRejects(sandbox.runAsync({ signal: 'soon' }), 'AEGIS_INVALID_ARGUMENT')
  await expectRejects(sandbox.runAsync({ timeout: 5 }), 'AEGIS_INVALID_ARGUMENT')
  await expectRejects(sandbox.runAsync(7), 'AEGIS_INVALID_ARGUMENT')
})

test('call options are validated strictly', async () => {
  const sandbox = spinner()
  const { signal } = new AbortController()
  assert.equal(await sandbox.callAsync('add', 1, 2, {}), 3)
  assert.equal(await sandbox.callAsync('add', 1, 2, { signal: undefined }), 3)
  assert.equal(await sandbox.callAsync('add', 1, 2, Object.assign(Object.create(null), { signal })), 3)
  const refused = [
    [[1, 2, { signal, timeout: 10 }], /unknown option `timeout`/],
    [[1, 2, { signl: signal }], /unknown option `signl`/],
    [[1, 2, { signal: 5 }], /`signal` must be an AbortSignal, got number/],
    [[1, 2, { signal: { aborted: false } }], /`signal` must be an AbortSignal/],
    [[1, 2, { signal: null }], /`signal` must be an AbortSignal, got null/],
    [[1, 2, signal], /got an AbortSignal \(pass it as \{ signal \}\)/],
    [[1, 2, [3]], /got an array/],
    [[1, 2, new Date()], /prototype is not Object.prototype/],
  ]
  for (const [args, pattern] of refused) {
    const err = await expectRejects(sandbox.callAsync('add', ...args), 'AEGIS_INVALID_ARGUMENT')
    assert.match(err.message, pattern)
    assert.equal(sandbox.busy, false)
  }
  const huge = await expectRejects(sandbox.callAsync('add', 1, 2, { ['k'.repeat(1e6)]: 1 }), 'AEGIS_INVALID_ARGUMENT')
  assert.ok(huge.message.length < 300, `the message echoes ${huge.message.length} characters`)
  // Options go last: an object elsewhere is a guest argument of the wrong kind.
  const misplaced = await expectRejects(sandbox.callAsync('add', { signal }, 1, 2), 'AEGIS_SIGNATURE_MISMATCH')
  assert.equal(misplaced.given, 'arguments (object, int, int)')
  // Sync `call` takes no options: an object is a guest argument there.
  expectCode(() => sandbox.call('add', 1, 2, {}), 'AEGIS_SIGNATURE_MISMATCH')
})

test('interrupt() does not wait for the call, and other methods still refuse a busy sandbox', async () => {
  const sandbox = spinner()
  const running = sandbox.callAsync('spin')
  const before = performance.now()
  sandbox.interrupt()
  assert.ok(performance.now() - before < 50, 'interrupt() returned at once')
  await expectRejects(running, 'AEGIS_INTERRUPTED')
})

test('a long host callback cannot observe cancellation; the call still ends on time with AEGIS_TIMEOUT', async () => {
  const runtime = new aegis.Runtime({ fuelLimit: Infinity, timeout: 0.3 })
  const sandbox = runtime.sandbox()
  let returned = 0
  sandbox.registerFunc('env', 'slow', () => {
    const until = Date.now() + 1000
    while (Date.now() < until) { /* busy-wait past the deadline */ }
    returned += 1
    return 7
  }, { results: ['i32'] })
  sandbox.loadModule(runtime.loadWat(`(module
    (import "env" "slow" (func $slow (result i32)))
    (func (export "go") (result i32) (call $slow)))`))
  // A synchronous call runs the callback inside the call, on this thread:
  // it ends with AEGIS_TIMEOUT when the callback returns, having lasted as
  // long as the callback.
  let started = performance.now()
  let err = expectCode(() => sandbox.call('go'), 'AEGIS_TIMEOUT')
  assert.ok(performance.now() - started >= 990, 'the callback ran to its end')
  assert.equal(err.limit, 0.3)
  assert.ok(err.elapsed >= 0.99, `elapsed ${err.elapsed} s counts the callback`)
  // An async call's guest stops waiting for the callback at its deadline;
  // the JS thread, busy in the callback, sees the outcome when it returns.
  started = performance.now()
  err = await expectRejects(sandbox.callAsync('go'), 'AEGIS_TIMEOUT')
  assert.ok(performance.now() - started >= 990, 'the callback ran to its end')
  assert.ok(err.elapsed >= 0.3 && err.elapsed * 1000 < 300 + LATENCY_BUDGET_MS, `elapsed ${err.elapsed} s`)
  assert.equal(returned, 2, 'the callback ran to its end both times')
  assert.equal(sandbox.busy, false)
})

test('a guest waiting for a busy event loop is let go at its deadline', async () => {
  // callAsync queues each host call on the event loop. While the loop is
  // blocked, the guest must still stop at its timeout, and the callback it
  // was waiting for must not run afterwards.
  const runtime = new aegis.Runtime({ fuelLimit: Infinity, timeout: 0.2 })
  const sandbox = runtime.sandbox()
  let ran = 0
  sandbox.registerFunc('env', 'f', () => { ran += 1 })
  sandbox.loadModule(runtime.loadWat(`(module
    (import "env" "f" (func $f))
    (func (export "go") (call $f)))`))
  const running = sandbox.callAsync('go')
  const until = Date.now() + 800
  while (Date.now() < until) { /* block the event loop */ }
  const err = await expectRejects(running, 'AEGIS_TIMEOUT')
  assert.ok(err.elapsed * 1000 < 200 + LATENCY_BUDGET_MS, `elapsed ${err.elapsed} s`)
  assert.equal(ran, 0, 'the abandoned host call never ran')
})

test('an interrupt reaches a guest waiting for the event loop', async () => {
  const runtime = new aegis.Runtime({ fuelLimit: Infinity, timeout: 30 })
  const sandbox = runtime.sandbox()
  let ran = 0
  sandbox.registerFunc('env', 'f', () => { ran += 1 })
  sandbox.loadModule(runtime.loadWat(`(module
    (import "env" "f" (func $f))
    (func (export "go") (call $f)))`))
  const running = sandbox.callAsync('go')
  const handle = sandbox.interruptHandle()
  const started = Date.now()
  // Block the loop, interrupting partway through (as another module's code might).
  let interrupted = false
  while (Date.now() < started + 600) {
    if (!interrupted && Date.now() >= started + 100) { handle.interrupt(); interrupted = true }
  }
  const err = await expectRejects(running, 'AEGIS_INTERRUPTED')
  assert.ok(err.elapsed * 1000 < 100 + LATENCY_BUDGET_MS, `elapsed ${err.elapsed} s`)
  assert.equal(ran, 0)
})

test('process.exit() is not held up by a guest waiting for a host function', () => {
  // The guest waits for the event loop, which will never run again; Node's
  // exit waits for the worker thread. No timeout would end the wait.
  const script = `
    const { Runtime } = require(${JSON.stringify(PACKAGE_DIR)})
    const runtime = new Runtime({ timeout: Infinity, fuelLimit: Infinity })
    const sandbox = runtime.sandbox()
    sandbox.registerFunc('env', 'f', () => {})
    sandbox.loadModule(runtime.loadWat('(module (import "env" "f" (func $f)) (func (export "go") (call $f)))'))
    sandbox.callAsync('go')
    process.exit(3)`
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 })
  assert.equal(run.signal, null, 'the process exited by itself')
  assert.equal(run.status, 3, run.stderr)
})
