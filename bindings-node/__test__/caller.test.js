'use strict'

// Host functions with guest memory: `registerFunc(..., { caller: true })`
// passes a `Caller` first. It must work wherever the JS function runs (a
// synchronous call inline on the JS thread, a synchronous call whose guest
// runs on a fiber of a helper thread, `callAsync` on a libuv worker), and
// be sound everywhere: bounds checked before allocating, and dead once its
// host function has returned.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { aegis, expectCode, expectRejects } = require('./helpers')

/** A guest with text at 16, whose exports hand (ptr, len) to the host. */
function guestWat({ wasi = false } = {}) {
  return `(module
    ${wasi ? '(import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))' : ''}
    (import "env" "log" (func $log (param i32 i32)))
    (import "env" "fill" (func $fill (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hello, caller")
    (func (export "log") (param i32 i32)
      ${wasi ? '(drop (call $yield))' : ''}
      (call $log (local.get 0) (local.get 1)))
    (func (export "fill") (param i32 i32) (result i32) (call $fill (local.get 0) (local.get 1)))
    (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0))))`
}

/**
 * A sandbox whose `env.log` and `env.fill` run `log(caller, ptr, len)` and
 * `fill(caller, ptr, len)`; `options` are the runtime's.
 */
function withCaller({ log = () => {}, fill = () => 0, wasi = false, options = {} } = {}) {
  const runtime = new aegis.Runtime({ fuelLimit: 1e7, ...options })
  const sandbox = runtime.sandbox()
  sandbox.registerFunc('env', 'log', log, { params: ['i32', 'i32'], caller: true })
  sandbox.registerFunc('env', 'fill', fill, { params: ['i32', 'i32'], results: ['i32'], caller: true })
  sandbox.loadModule(runtime.loadWat(guestWat({ wasi })))
  return { runtime, sandbox }
}

/** The ways a host function's JS can run, each with a sandbox maker and a caller of `log`. */
const PLACES = [
  ['a synchronous call inline on the JS thread', (fns) => withCaller(fns), (s, ...a) => s.call('log', ...a)],
  ['a synchronous call on a fiber (WASI guest, helper thread)', (fns) => withCaller({ ...fns, wasi: true }), (s, ...a) => s.call('log', ...a)],
  ['a synchronous call with a large stack (helper thread)', (fns) => withCaller({ ...fns, options: { stackLimit: '4MiB' } }), (s, ...a) => s.call('log', ...a)],
  ['callAsync (libuv worker)', (fns) => withCaller(fns), (s, ...a) => s.callAsync('log', ...a)],
]

for (const [place, make, callLog] of PLACES) {
  test(`the caller reads and writes guest memory: ${place}`, async () => {
    const seen = []
    const { sandbox } = make({
      log: (caller, ptr, len) => {
        assert.ok(caller instanceof aegis.Caller)
        seen.push(caller.readString(ptr, len))
        seen.push(caller.readMemory(ptr, 5))
        seen.push(caller.readMemory(BigInt(ptr), 0n))
        seen.push(caller.memorySize())
        seen.push(caller.isCancelled())
        seen.push(typeof caller.timeRemaining)
        caller.writeMemory(ptr, Buffer.from('HELLO'))
        caller.writeMemory(ptr + 5, new Uint8Array([33]))
      },
    })
    await callLog(sandbox, 16, 13)
    assert.deepEqual(seen, ['hello, caller', Buffer.from('hello'), Buffer.alloc(0), 65536, false, 'number'])
    assert.equal(sandbox.readMemory(16, 13).toString(), 'HELLO! caller')
  })

  test(`out-of-bounds and huge ranges throw AEGIS_MEMORY_OUT_OF_BOUNDS before allocating: ${place}`, async () => {
    const errors = []
    const attempt = (f) => {
      try {
        f()
        errors.push(null)
      } catch (err) {
        errors.push(err)
      }
    }
    const { sandbox } = make({
      log: (caller) => {
        attempt(() => caller.readMemory(65536, 1))
        attempt(() => caller.readMemory(65530, 7))
        attempt(() => caller.readString(0, 2 ** 53 - 1))                 // must not size a buffer
        attempt(() => caller.readMemory(2n ** 64n - 1n, 2n ** 64n - 1n)) // wraps in 64 bits
        attempt(() => caller.readMemory(1, 2n ** 64n - 1n))
        attempt(() => caller.writeMemory(65535, Buffer.alloc(2)))
        attempt(() => caller.writeMemory(2 ** 40, Buffer.alloc(1)))
        attempt(() => caller.readMemory(-1, 1))
        attempt(() => caller.readMemory(1.5, 1))
        attempt(() => caller.readMemory(0, NaN))
        attempt(() => caller.readString(0, 2n ** 64n))
        attempt(() => caller.writeMemory(0, 'text'))
        attempt(() => caller.readMemory('0', 1))
        attempt(() => caller.readMemory(65536, 0)) // an empty range at the end is in bounds
      },
    })
    const before = process.memoryUsage().rss
    await callLog(sandbox, 0, 0)
    assert.ok(process.memoryUsage().rss - before < 256 * 2 ** 20, 'no huge host allocation')
    const codes = errors.map((e) => e && e.code)
    assert.deepEqual(codes, [
      ...Array(7).fill('AEGIS_MEMORY_OUT_OF_BOUNDS'),
      ...Array(6).fill('AEGIS_INVALID_ARGUMENT'),
      null,
    ])
    assert.deepEqual([errors[0].offset, errors[0].len, errors[0].size], [65536, 1, 65536])
    assert.deepEqual([errors[2].offset, errors[2].len, errors[2].size], [0, 2 ** 53 - 1, 65536])
    assert.ok(aegis.isAegisError(errors[0]))
    // The guest's memory is untouched and the sandbox works.
    assert.equal(sandbox.readMemory(65535, 1)[0], 0)
    assert.equal(sandbox.call('byte', 16), 'h'.charCodeAt(0))
  })

  test(`a stored caller is dead after its host function returns: ${place}`, async () => {
    let kept
    const { sandbox } = make({ log: (caller) => { kept = caller } })
    await callLog(sandbox, 16, 13)
    for (const use of [
      () => kept.readMemory(16, 5),
      () => kept.readString(16, 5),
      () => kept.writeMemory(16, Buffer.from('x')),
      () => kept.memorySize(),
    ]) {
      const err = expectCode(use, 'AEGIS_INVALID_ARGUMENT')
      assert.match(err.message, /no longer valid/)
    }
    // The call it served is over: cancelled, no time left.
    assert.equal(kept.isCancelled(), true)
    assert.equal(kept.timeRemaining, 0)
    // Still dead while the sandbox runs another call, and the guest is unchanged.
    await callLog(sandbox, 16, 13)
    expectCode(() => kept.readMemory(16, 5), 'AEGIS_INVALID_ARGUMENT')
    assert.equal(sandbox.readMemory(16, 5).toString(), 'hello')
  })

  test(`a caller thrown out of bounds fails the call with AEGIS_HOST_FUNCTION: ${place}`, async () => {
    const { sandbox } = make({ log: (caller, ptr, len) => caller.readString(ptr, len) })
    let err
    try {
      await callLog(sandbox, 65000, 1000)
    } catch (e) {
      err = e
    }
    assert.equal(err?.code, 'AEGIS_HOST_FUNCTION')
    assert.equal(err.cause.code, 'AEGIS_MEMORY_OUT_OF_BOUNDS')
    assert.equal(err.cause.size, 65536)
  })
}

test('a caller used from another sandbox\'s host function reads its own guest, or is dead', async () => {
  // B's memory holds other text at 16; A's caller must never read B's memory.
  let keptA
  const readsInB = []
  const runtime = new aegis.Runtime()
  const nested = runtime.sandbox()
  nested.registerFunc('env', 'log', (caller) => {
    readsInB.push(keptA.readString(16, 5))        // A still runs: its own memory
    readsInB.push(caller.readString(16, 5))       // B's own caller
  }, { params: ['i32', 'i32'], caller: true })
  nested.registerFunc('env', 'fill', () => 0, { params: ['i32', 'i32'], results: ['i32'], caller: true })
  nested.loadModule(runtime.loadWat(guestWat()))
  nested.writeMemory(16, Buffer.from('BBBBB'))
  const a = withCaller({
    log: (caller) => {
      keptA = caller
      nested.call('log', 16, 5)
    },
  })
  a.sandbox.call('log', 16, 13)
  assert.deepEqual(readsInB, ['hello', 'BBBBB'])
  // After A's host function returned, B's host function cannot use it.
  const after = []
  const later = runtime.sandbox()
  later.registerFunc('env', 'log', () => {
    try {
      keptA.readString(16, 5)
    } catch (err) {
      after.push(err.code)
    }
  }, { params: ['i32', 'i32'] })
  later.registerFunc('env', 'fill', () => 0, { params: ['i32', 'i32'], results: ['i32'] })
  later.loadModule(runtime.loadWat(guestWat()))
  later.call('log', 0, 0)
  await later.callAsync('log', 0, 0)
  assert.deepEqual(after, ['AEGIS_INVALID_ARGUMENT', 'AEGIS_INVALID_ARGUMENT'])
})

test('a callAsync guest that stops waiting (timeout) leaves its caller dead, never dangling', async () => {
  // The host function is queued behind a busy event loop: the guest's 50 ms
  // timeout passes while it waits, so it stops waiting and returns; the
  // function then runs (or is dropped) with a caller that must be dead.
  let used
  const { sandbox } = withCaller({
    options: { timeout: 0.05 },
    log: (caller) => {
      try {
        used = caller.readString(16, 5)
      } catch (err) {
        used = err.code
      }
    },
  })
  const pending = sandbox.callAsync('log', 16, 5)
  const until = Date.now() + 300
  while (Date.now() < until); // keep the event loop busy past the timeout
  await expectRejects(pending, 'AEGIS_TIMEOUT')
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.ok(used === undefined || used === 'AEGIS_INVALID_ARGUMENT', `the callback saw ${used}`)
})

test('a long host function sees its call cancelled through the caller', async () => {
  const seen = []
  const { sandbox } = withCaller({
    wasi: true,
    options: { timeout: 0.1 },
    log: (caller) => {
      seen.push(caller.isCancelled(), caller.timeRemaining > 0)
      const until = Date.now() + 400
      while (Date.now() < until && !caller.isCancelled());
      seen.push(caller.isCancelled(), caller.timeRemaining)
    },
  })
  expectCode(() => sandbox.call('log', 16, 5), 'AEGIS_TIMEOUT')
  assert.deepEqual(seen, [false, true, true, 0])
})

test('a Caller cannot be made or misused from JS', () => {
  const err = expectCode(() => new aegis.Caller(), 'AEGIS_INVALID_ARGUMENT')
  assert.match(err.message, /caller: true/)
  const runtime = new aegis.Runtime()
  const sandbox = runtime.sandbox()
  for (const caller of [1, 'yes', {}]) {
    expectCode(() => sandbox.registerFunc('env', 'log', () => {}, { params: ['i32', 'i32'], caller }), 'AEGIS_INVALID_ARGUMENT')
  }
  expectCode(() => sandbox.registerFunc('env', 'log', () => {}, { params: ['i32'], calller: true }), 'AEGIS_INVALID_ARGUMENT')
  // Without `caller: true` the function gets the wasm arguments only.
  const args = []
  sandbox.registerFunc('env', 'log', (...a) => { args.push(a) }, { params: ['i32', 'i32'], caller: false })
  sandbox.registerFunc('env', 'fill', () => 0, { params: ['i32', 'i32'], results: ['i32'] })
  sandbox.loadModule(runtime.loadWat(guestWat()))
  sandbox.call('log', 1, 2)
  assert.deepEqual(args, [[1, 2]])
})

test('a caller works for a host function with results, and many calls keep no caller alive', () => {
  const { sandbox } = withCaller({
    fill: (caller, ptr, len) => {
      caller.writeMemory(ptr, Buffer.alloc(len, 0x61))
      return len
    },
  })
  for (let i = 0; i < 2000; i++) assert.equal(sandbox.call('fill', 100, 8), 8)
  assert.equal(sandbox.readMemory(100, 8).toString(), 'aaaaaaaa')
})
