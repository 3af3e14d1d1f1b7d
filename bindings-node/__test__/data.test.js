'use strict'

// Issue 16, "plugins that exchange data", through the Node binding: guest
// memory from the host, the bytes convention (callBytes/callStr) with the
// Rust and C example guests, component calls with every WIT type both ways
// (values.wasm), host functions for component imports (plugin.wasm), and
// limits, metrics and cancellation on those calls. The guests are built by
// scripts/build-guests.sh into target/guests/out/.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { aegis, expectCode, expectRejects, loaded } = require('./helpers')

const GUESTS = path.join(__dirname, '..', '..', 'target', 'guests', 'out')
const guest = (name) => path.join(GUESTS, name)

/** A core module with two memories and a `grow` export. */
const MEMORY_WAT = `(module
  (memory $m (export "memory") 1)
  (memory $aux (export "aux") 2)
  (data (memory $m) (i32.const 16) "hello")
  (func (export "grow") (param i32) (result i32) (memory.grow $m (local.get 0)))
  (func (export "peek") (param i32) (result i32) (i32.load8_u $m (local.get 0))))`

test('guest memory: size, read and write between calls; copies, never views', () => {
  const { sandbox } = loaded(MEMORY_WAT)
  assert.equal(sandbox.memorySize(), 65536)
  assert.equal(sandbox.memorySize('aux'), 2 * 65536)
  const hello = sandbox.readMemory(16, 5)
  assert.ok(Buffer.isBuffer(hello))
  assert.equal(hello.toString(), 'hello')
  assert.deepEqual(sandbox.readMemory(16n, 5n), hello, 'BigInt offsets and lengths')
  assert.equal(sandbox.readMemory(65536, 0).length, 0, 'an empty read at the end')

  sandbox.writeMemory(100, Buffer.from('abc'))
  sandbox.writeMemory(103, new Uint8Array([0x64]))
  assert.equal(sandbox.readMemory(100, 4).toString(), 'abcd')
  assert.equal(sandbox.call('peek', 103), 0x64, 'the guest sees the host write')
  sandbox.writeMemory(0, Buffer.from('aux!'), 'aux')
  assert.equal(sandbox.readMemory(0, 4, 'aux').toString(), 'aux!')
  assert.equal(sandbox.readMemory(0, 4).toString('hex'), '00000000', 'the default memory is `memory`')

  // A Buffer read before the guest grows its memory stays valid and unchanged.
  const before = sandbox.readMemory(100, 4)
  assert.equal(sandbox.call('grow', 3), 1)
  assert.equal(sandbox.memorySize(), 4 * 65536)
  sandbox.writeMemory(100, Buffer.from('WXYZ'))
  assert.equal(before.toString(), 'abcd')
  before.fill(0)
  assert.equal(sandbox.readMemory(100, 4).toString(), 'WXYZ', 'writing the copy does not touch the guest')
  assert.equal(sandbox.readMemory(4 * 65536 - 1, 1).length, 1, 'the grown memory is readable')
})

test('guest memory: out of bounds is AEGIS_MEMORY_OUT_OF_BOUNDS before anything is allocated', () => {
  const { sandbox } = loaded(MEMORY_WAT)
  for (const [offset, len] of [[65535, 2], [65537, 0], [0, 2 ** 53 - 1], [2n ** 64n - 1n, 2n], [0, 2n ** 64n - 1n]]) {
    const err = expectCode(() => sandbox.readMemory(offset, len), 'AEGIS_MEMORY_OUT_OF_BOUNDS')
    assert.equal(err.offset, Number(offset))
    assert.equal(err.len, Number(len))
    assert.equal(err.size, 65536)
  }
  const err = expectCode(() => sandbox.writeMemory(65534, Buffer.from('abc')), 'AEGIS_MEMORY_OUT_OF_BOUNDS')
  assert.deepEqual([err.offset, err.len, err.size], [65534, 3, 65536])
  assert.equal(sandbox.readMemory(65534, 2).toString('hex'), '0000', 'a refused write writes nothing')
  for (const bad of [-1, 1.5, NaN, Infinity, '1', -1n, 2n ** 64n, undefined, null]) {
    expectCode(() => sandbox.readMemory(bad, 1), 'AEGIS_INVALID_ARGUMENT')
    expectCode(() => sandbox.readMemory(0, bad), 'AEGIS_INVALID_ARGUMENT')
  }
  expectCode(() => sandbox.writeMemory(0, 'text'), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.writeMemory(0, [1, 2]), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.readMemory(0, 1, 42), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.memorySize('nope'), 'AEGIS_EXPORT_NOT_FOUND')
  expectCode(() => loaded('(module (func (export "f")))').sandbox.memorySize(), 'AEGIS_EXPORT_NOT_FOUND')
  const component = values().sandbox
  expectCode(() => component.readMemory(0, 1), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => component.writeMemory(0, Buffer.from('x')), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => new aegis.Runtime().sandbox().memorySize(), 'AEGIS_INVALID_ARGUMENT')
})

test('guest memory is out of reach while a call runs (AEGIS_BUSY)', () => {
  const runtime = new aegis.Runtime()
  const sandbox = runtime.sandbox()
  let inner
  sandbox.registerFunc('env', 'f', () => {
    try { sandbox.readMemory(0, 1) } catch (err) { inner = err }
  })
  sandbox.loadModule(runtime.loadWat('(module (import "env" "f" (func $f)) (memory (export "memory") 1) (func (export "go") (call $f)))'))
  sandbox.call('go')
  assert.equal(inner?.code, 'AEGIS_BUSY')
})

for (const file of ['bytes-rust.wasm', 'bytes-c.wasm']) {
  test(`callBytes and callStr with ${file}`, async () => {
    const runtime = new aegis.Runtime()
    const sandbox = runtime.sandbox()
    sandbox.loadModule(runtime.loadFile(guest(file)))
    assert.equal(sandbox.callStr('upper', 'hello, wörld'), 'HELLO, WöRLD')
    assert.equal(sandbox.callStr('reverse', 'abc'), 'cba')
    assert.equal(sandbox.callStr('greet', 'Aegis'), 'Hello, Aegis!')
    assert.equal(sandbox.callStr('repeat', '5'), 'aaaaa')
    assert.equal(sandbox.callStr('echo', ''), '')
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe])
    const echoed = sandbox.callBytes('echo', bytes)
    assert.ok(Buffer.isBuffer(echoed))
    assert.deepEqual(echoed, bytes)
    assert.deepEqual(sandbox.callBytes('reverse', new Uint8Array([1, 2, 3])), Buffer.from([3, 2, 1]))
    assert.equal(sandbox.lastCallMetrics.calls, 1, 'one exchange is one call')
    assert.ok(sandbox.lastCallMetrics.fuelConsumed > 0)
    const mib = Buffer.alloc(1 << 20, 0x5a)
    assert.ok(sandbox.callBytes('echo', mib).equals(mib), '1 MiB round trip')
    assert.equal(sandbox.callBytes('repeat', Buffer.from('100000')).length, 100000)
    for (let i = 0; i < 200; i++) assert.equal(sandbox.callStr('echo', `round ${i}`), `round ${i}`)
    // The guest's traps and the convention's errors.
    expectCode(() => sandbox.callStr('repeat', 'not a number'), 'AEGIS_TRAP')
    expectCode(() => sandbox.callBytes('missing', bytes), 'AEGIS_EXPORT_NOT_FOUND')
    expectCode(() => sandbox.callBytes('echo', 'text'), 'AEGIS_INVALID_ARGUMENT')
    expectCode(() => sandbox.callStr('echo', Buffer.from('x')), 'AEGIS_INVALID_ARGUMENT')
    // Async forms.
    assert.equal(await sandbox.callStrAsync('upper', 'async'), 'ASYNC')
    assert.deepEqual(await sandbox.callBytesAsync('echo', bytes), bytes)
    await expectRejects(sandbox.callStrAsync('missing', 'x'), 'AEGIS_EXPORT_NOT_FOUND')
    const aborted = AbortSignal.abort()
    await expectRejects(sandbox.callBytesAsync('echo', bytes, { signal: aborted }), 'AEGIS_INTERRUPTED')
    await expectRejects(sandbox.callStrAsync('echo', 'x', { nope: 1 }), 'AEGIS_INVALID_ARGUMENT')
    // resultLimit caps the output.
    const capped = runtime.sandbox({ resultLimit: 10 })
    capped.loadModule(runtime.loadFile(guest(file)))
    assert.equal(capped.callStr('repeat', '10'), 'a'.repeat(10))
    const err = expectCode(() => capped.callStr('repeat', '11'), 'AEGIS_RESULT_TOO_LARGE')
    assert.deepEqual([err.size, err.limit], [11, 10])
    // A core call of a bytes guest still works.
    expectCode(() => sandbox.call('echo', 1), 'AEGIS_SIGNATURE_MISMATCH')
  })
}

test('callBytes stops at the fuel limit, the timeout and an interrupt', async () => {
  const SPIN_BYTES = `(module (memory (export "memory") 1)
    (func (export "aegis_alloc") (param i32) (result i32) (i32.const 0))
    (func (export "spin") (param i32 i32) (result i64) (loop $l (br $l)) (i64.const 0)))`
  expectCode(() => loaded(SPIN_BYTES, { fuelLimit: 100000 }).sandbox.callBytes('spin', Buffer.from('x')), 'AEGIS_OUT_OF_FUEL')
  const err = expectCode(() => loaded(SPIN_BYTES, { fuelLimit: Infinity, timeout: 0.2 }).sandbox.callStr('spin', 'x'), 'AEGIS_TIMEOUT')
  assert.equal(err.limit, 0.2)
  const { sandbox } = loaded(SPIN_BYTES, { fuelLimit: Infinity })
  const stopped = await expectRejects(sandbox.callBytesAsync('spin', Buffer.from('x'), { signal: AbortSignal.timeout(100) }), 'AEGIS_INTERRUPTED')
  assert.equal(stopped.cause.name, 'TimeoutError')
  const pending = sandbox.callStrAsync('spin', 'x')
  assert.equal(sandbox.busy, true)
  setTimeout(() => sandbox.interrupt(), 50)
  await expectRejects(pending, 'AEGIS_INTERRUPTED')
})

/** A sandbox with values.wasm loaded. */
function values(options) {
  const runtime = new aegis.Runtime(options)
  const module = runtime.loadFile(guest('values.wasm'))
  const sandbox = runtime.sandbox()
  sandbox.loadModule(module)
  return { runtime, module, sandbox }
}

test('every WIT type both ways (values.wasm)', () => {
  const { sandbox } = values()
  const echo = (type, value, expected = value) => assert.deepEqual(sandbox.call(`echo-${type}`, value), expected, type)
  echo('bool', true)
  echo('bool', false)
  for (const [type, min, max] of [['s8', -128, 127], ['u8', 0, 255], ['s16', -32768, 32767], ['u16', 0, 65535], ['s32', -(2 ** 31), 2 ** 31 - 1], ['u32', 0, 2 ** 32 - 1]]) {
    echo(type, min)
    echo(type, max)
    echo(type, BigInt(max), max)
    assert.equal(typeof sandbox.call(`echo-${type}`, 1), 'number')
  }
  echo('s64', -(2n ** 63n))
  echo('s64', 2n ** 63n - 1n)
  echo('s64', 42, 42n)
  echo('u64', 2n ** 64n - 1n)
  echo('u64', 0, 0n)
  assert.equal(typeof sandbox.call('echo-u64', 1n), 'bigint')
  echo('f32', 1.5)
  echo('f32', 0.1, Math.fround(0.1))
  echo('f64', 0.1)
  echo('f64', -0)
  echo('f64', 3, 3)
  assert.ok(Number.isNaN(sandbox.call('echo-f64', NaN)))
  echo('f64', Infinity)
  echo('char', 'é')
  echo('char', '😀')
  echo('string', '')
  echo('string', 'héllo, 世界 😀')
  echo('string', 'x'.repeat(100000))
  const bytes = sandbox.call('echo-bytes', Buffer.from([0, 1, 255]))
  assert.ok(Buffer.isBuffer(bytes))
  assert.deepEqual(bytes, Buffer.from([0, 1, 255]))
  echo('bytes', new Uint8Array([9, 8]), Buffer.from([9, 8]))
  echo('bytes', [1, 2, 3], Buffer.from([1, 2, 3]))
  echo('bytes', new ArrayBuffer(2), Buffer.from([0, 0]))
  echo('strings', ['a', '', 'ü'])
  echo('strings', [])
  const point = { x: -1, y: 2, label: 'p' }
  const out = sandbox.call('echo-record', point)
  assert.deepEqual(out, point)
  assert.equal(Object.getPrototypeOf(out), Object.prototype, 'a plain object')
  assert.deepEqual(Object.keys(out), ['x', 'y', 'label'], 'fields in WIT order')
  echo('record', { label: 'any order', y: 2, x: 1 }, { x: 1, y: 2, label: 'any order' })
  echo('tuple', [7, 'seven', true])
  echo('variant', { circle: 2.5 })
  echo('variant', { rect: point })
  echo('variant', { empty: null })
  echo('variant', 'empty', { empty: null })
  echo('enum', 'blue')
  echo('option', null)
  echo('option', undefined, null)
  echo('option', 'some')
  echo('nested-option', null)
  echo('nested-option', 5, { some: 5 })
  echo('nested-option', { some: 5 })
  echo('nested-option', { some: null })
  echo('result', { ok: 'yes' })
  echo('result', { err: 'no' })
  echo('flags', ['read', 'exec'])
  echo('flags', [])
  echo('points', [point, { x: 3, y: 4, label: '' }])
  echo('nested', [[1, 2], [], [3]])
  // Plain functions, and an export inside an interface.
  assert.equal(sandbox.call('greet', 'world'), 'Hello, world!')
  assert.equal(sandbox.call('add', 2, 40), 42)
  assert.equal(sandbox.call('nothing'), undefined)
  assert.deepEqual(sandbox.call('divide', 7, 2), { ok: 3 })
  assert.deepEqual(sandbox.call('divide', 1, 0), { err: 'division by zero' })
  assert.deepEqual(sandbox.call('make-bytes', 3), Buffer.from('aaa'))
  assert.equal(sandbox.call('make-string', 4), 'aaaa')
  assert.equal(sandbox.call('aegis:test/text#upper', 'wit'), 'WIT')
  assert.equal(sandbox.call('aegis:test/text#count', 'héllo 😀'), 7)
  assert.equal(sandbox.callVoid('nothing'), undefined)
  assert.equal(sandbox.lastCallMetrics.calls, 1)
})

test('component argument errors: wrong kind, out of range, unknown export, wrong count', () => {
  const { sandbox } = values()
  let err = expectCode(() => sandbox.call('add', 'two', 1), 'AEGIS_SIGNATURE_MISMATCH')
  assert.equal(err.name, 'add')
  assert.equal(err.expected, 'func(a: s32, b: s32) -> s32')
  assert.match(err.given, /argument 1 \(a\): expected s32, got str/)
  err = expectCode(() => sandbox.call('echo-record', { x: 1, y: 2, label: 3 }), 'AEGIS_SIGNATURE_MISMATCH')
  assert.match(err.given, /label: expected string, got int/)
  expectCode(() => sandbox.call('echo-s32', 1.5), 'AEGIS_SIGNATURE_MISMATCH')
  expectCode(() => sandbox.call('echo-string', null), 'AEGIS_SIGNATURE_MISMATCH')
  expectCode(() => sandbox.call('echo-bool', 1), 'AEGIS_SIGNATURE_MISMATCH')
  err = expectCode(() => sandbox.call('add', 1), 'AEGIS_SIGNATURE_MISMATCH')
  assert.match(err.given, /1 arguments/)
  expectCode(() => sandbox.call('add', 1, 2, 3), 'AEGIS_SIGNATURE_MISMATCH')
  // JS values with no WIT counterpart.
  for (const bad of [() => 1, Symbol('s'), new Map(), new Date(), new Uint16Array(2), new (class Point {})()]) {
    err = expectCode(() => sandbox.call('echo-string', bad), 'AEGIS_SIGNATURE_MISMATCH')
    assert.match(err.given, /^argument 1: .* cannot be passed to a component/)
  }
  err = expectCode(() => sandbox.call('echo-points', [{ x: 1, y: 2, label: () => 1 }]), 'AEGIS_SIGNATURE_MISMATCH')
  assert.match(err.given, /^argument 1\[0\]\.label: a function/)
  const cycle = []
  cycle.push(cycle)
  err = expectCode(() => sandbox.call('echo-nested', cycle), 'AEGIS_SIGNATURE_MISMATCH')
  assert.match(err.given, /^argument 1: a value nested more than \d+ levels deep/)
  // Out of range.
  expectCode(() => sandbox.call('echo-u8', 256), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.call('echo-s32', 2 ** 40), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.call('echo-u64', -1n), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.call('echo-s64', 2n ** 63n), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.call('echo-s64', 2n ** 200n), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.call('echo-bytes', [1, 256]), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.call('echo-char', 'ab'), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.call('echo-enum', 'purple'), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.call('echo-record', { x: 1, y: 2 }), 'AEGIS_INVALID_ARGUMENT')
  // Unknown exports.
  err = expectCode(() => sandbox.call('nope'), 'AEGIS_EXPORT_NOT_FOUND')
  assert.ok(err.available.includes('aegis:test/text#upper'))
  expectCode(() => sandbox.call('aegis:test/text#nope', 'x'), 'AEGIS_EXPORT_NOT_FOUND')
  // The bytes convention is for core modules.
  expectCode(() => sandbox.callBytes('greet', Buffer.from('x')), 'AEGIS_INVALID_ARGUMENT')
  // Nothing was poisoned by refused arguments.
  assert.equal(sandbox.call('add', 1, 2), 3)
})

test('module.exports, imports and describe() show component functions with their WIT signatures', () => {
  const runtime = new aegis.Runtime()
  const valuesModule = runtime.loadFile(guest('values.wasm'))
  assert.equal(valuesModule.isComponent, true)
  const greet = valuesModule.exports.find((e) => e.name === 'greet')
  assert.deepEqual(greet, { module: '', name: 'greet', kind: 'function', type: 'func(name: string) -> string', params: ['string'], results: ['string'] })
  const upper = valuesModule.exports.find((e) => e.name === 'aegis:test/text#upper')
  assert.equal(upper.type, 'func(s: string) -> string')
  const nothing = valuesModule.exports.find((e) => e.name === 'nothing')
  assert.deepEqual([nothing.type, nothing.params, nothing.results], ['func()', [], []])
  const record = valuesModule.exports.find((e) => e.name === 'echo-record')
  assert.equal(record.type, 'func(v: record { x: s32, y: s32, label: string }) -> record { x: s32, y: s32, label: string }')
  assert.ok(valuesModule.functionNames.includes('aegis:test/text#count'))
  assert.match(valuesModule.describe(), /^export greet \[function\]: func\(name: string\) -> string$/m)

  const plugin = runtime.loadFile(guest('plugin.wasm'))
  const transform = plugin.imports.find((i) => i.module === 'aegis:test/host' && i.name === 'transform')
  assert.deepEqual(transform, { module: 'aegis:test/host', name: 'transform', kind: 'function', type: 'func(s: string) -> string', params: ['string'], results: ['string'] })
  const log = plugin.imports.find((i) => i.name === 'log')
  assert.deepEqual([log.module, log.type], ['', 'func(msg: string)'])
  assert.match(plugin.describe(), /^import aegis:test\/host#add \[function\]: func\(a: s64, b: s64\) -> s64$/m)
  assert.match(plugin.describe(), /^export call-maybe \[function\]: func\(v: option<u32>\) -> result<u32, string>$/m)
})

/** JS implementations of every import of plugin.wasm; `seen` records the calls. */
function pluginHost(seen) {
  return {
    'aegis:test/host#transform': (s) => { seen.push(['transform', s]); return `<${s.toUpperCase()}>` },
    'aegis:test/host#add': (a, b) => { seen.push(['add', a, b]); return a + b },
    'aegis:test/host#describe': (p) => { seen.push(['describe', p]); return `${p.label} at (${p.x}, ${p.y})` },
    'aegis:test/host#bytes-len': (b) => { seen.push(['bytes-len', b]); return b.length },
    'aegis:test/host#maybe': (v) => { seen.push(['maybe', v]); return v === null ? { err: 'nothing' } : { ok: v + 1 } },
    log: (msg) => { seen.push(['log', msg]); return 'ignored: log has no result' },
  }
}

/** A sandbox with plugin.wasm loaded and `host` (defaults: `pluginHost`) registered. */
function plugin(overrides = {}, options = undefined, seen = []) {
  const runtime = new aegis.Runtime(options)
  const module = runtime.loadFile(guest('plugin.wasm'))
  const sandbox = runtime.sandbox()
  for (const [name, fn] of Object.entries({ ...pluginHost(seen), ...overrides })) sandbox.registerComponent(name, fn)
  sandbox.loadModule(module)
  return { runtime, module, sandbox, seen }
}

test('host functions for component imports, registered in JS (plugin.wasm)', async () => {
  const { sandbox, seen } = plugin()
  assert.equal(sandbox.call('call-transform', 'abc'), '<ABC>')
  assert.equal(sandbox.call('call-add', 2n ** 40n, -2n), 2n ** 40n - 2n)
  assert.equal(sandbox.call('call-describe', { x: 1, y: -2, label: 'p' }), 'p at (1, -2)')
  assert.equal(sandbox.call('call-bytes-len', Buffer.alloc(1000)), 1000)
  assert.deepEqual(sandbox.call('call-maybe', 41), { ok: 42 })
  assert.deepEqual(sandbox.call('call-maybe', null), { err: 'nothing' })
  assert.equal(sandbox.call('call-log', 'a message'), undefined)
  assert.deepEqual(seen.slice(0, 7), [
    ['transform', 'abc'],
    ['add', 2n ** 40n, -2n],
    ['describe', { x: 1, y: -2, label: 'p' }],
    ['bytes-len', Buffer.alloc(1000)],
    ['maybe', 41],
    ['maybe', null],
    ['log', 'a message'],
  ])
  assert.ok(Buffer.isBuffer(seen[3][1]), 'list<u8> arrives as a Buffer')
  assert.equal(sandbox.call('call-transform-n', 'x', 3), '<<<X>>>')
  assert.equal(sandbox.lastCallMetrics.hostCalls, 3)
  assert.equal(sandbox.lastCallMetrics.calls, 1)
  assert.equal(sandbox.metrics.hostCalls, 10)
  // Asynchronously: the guest runs on a worker, the JS functions on this thread.
  assert.equal(await sandbox.callAsync('call-transform', 'async'), '<ASYNC>')
  assert.equal(await sandbox.callAsync('call-describe', { x: 0, y: 0, label: 'o' }), 'o at (0, 0)')
  const controller = new AbortController()
  assert.equal(await sandbox.callAsync('call-describe', { x: 0, y: 0, label: 'o' }, { signal: controller.signal }), 'o at (0, 0)')
  assert.deepEqual(await sandbox.callAsync('call-maybe', 1), { ok: 2 })
})

test('a throwing component host function fails the call with AEGIS_HOST_FUNCTION; the component needs reset()', () => {
  class Refusal extends Error {}
  const thrown = new Refusal('refused by the host')
  const { sandbox } = plugin({ 'aegis:test/host#transform': () => { throw thrown } })
  const err = expectCode(() => sandbox.call('call-transform', 'x'), 'AEGIS_HOST_FUNCTION')
  assert.equal(err.cause, thrown, 'the original exception is the cause')
  assert.match(err.message, /refused by the host/)
  // A component that trapped cannot be entered again until reset.
  const again = expectCode(() => sandbox.call('call-add', 1n, 2n), 'AEGIS_TRAP')
  assert.equal(again.trapCode, 'cannot_enter_component')
  assert.match(again.message, /reset/)
  sandbox.reset()
  assert.equal(sandbox.call('call-add', 1n, 2n), 3n)
  // A thrown non-Error is the cause as thrown.
  const { sandbox: other } = plugin({ log: () => { throw 'a string' } })
  assert.equal(expectCode(() => other.call('call-log', 'x'), 'AEGIS_HOST_FUNCTION').cause, 'a string')
})

test('a component host function result of the wrong type is AEGIS_HOST_FUNCTION', () => {
  const cases = [
    ['aegis:test/host#add', () => 'not a number', ['call-add', 1n, 2n], /expected s64, got str/],
    ['aegis:test/host#add', () => 2n ** 64n, ['call-add', 1n, 2n], /out of range/],
    ['aegis:test/host#transform', () => undefined, ['call-transform', 'x'], /expected string, got null/],
    ['aegis:test/host#maybe', (v) => v, ['call-maybe', 1], /expected result, got int/],
    ['aegis:test/host#describe', () => () => 1, ['call-describe', { x: 0, y: 0, label: '' }], /a function cannot be passed/],
  ]
  for (const [name, fn, call, message] of cases) {
    const { sandbox } = plugin({ [name]: fn })
    const err = expectCode(() => sandbox.call(...call), 'AEGIS_HOST_FUNCTION')
    assert.match(err.message, message, name)
  }
})

test('a result that throws while it is read (a getter, a proxy) is AEGIS_HOST_FUNCTION, sync and async', async () => {
  const boom = new Error('getter boom')
  const results = {
    getter: () => ({ get ok () { throw boom } }),
    proxy: () => new Proxy({}, { ownKeys () { throw boom } }),
  }
  for (const [kind, fn] of Object.entries(results)) {
    const { sandbox } = plugin({ 'aegis:test/host#maybe': fn })
    const err = expectCode(() => sandbox.call('call-maybe', 3), 'AEGIS_HOST_FUNCTION')
    assert.equal(err.cause, boom, kind)
    sandbox.reset()
    await assert.rejects(sandbox.callAsync('call-maybe', 3), (e) => e.code === 'AEGIS_HOST_FUNCTION' && e.cause === boom)
  }
})

test('component host functions: re-entry is AEGIS_BUSY, interrupt and timeout stop the call', async () => {
  let inner
  const { sandbox } = plugin({
    'aegis:test/host#transform': (s) => {
      try { sandbox.call('call-log', s) } catch (err) { inner = err; throw err }
    },
  })
  const err = expectCode(() => sandbox.call('call-transform', 'x'), 'AEGIS_HOST_FUNCTION')
  assert.equal(inner.code, 'AEGIS_BUSY')
  assert.equal(err.cause, inner)

  // sandbox.interrupt() from a host function ends the call it serves.
  const stopper = plugin({ 'aegis:test/host#transform': (s) => { stopper.sandbox.interrupt(); return s } })
  expectCode(() => stopper.sandbox.call('call-transform-n', 'x', 1000), 'AEGIS_INTERRUPTED')
  assert.ok(stopper.sandbox.lastCallMetrics.hostCalls < 10)

  // A host function that overruns the timeout: the call ends with AEGIS_TIMEOUT.
  const slow = plugin({
    'aegis:test/host#transform': (s) => { const end = Date.now() + 400; while (Date.now() < end); return s },
  }, { timeout: 0.15, fuelLimit: Infinity })
  const timedOut = expectCode(() => slow.sandbox.call('call-transform', 'x'), 'AEGIS_TIMEOUT')
  assert.equal(timedOut.limit, 0.15)
  // The same through callAsync, where the guest waits for the event loop.
  const blocked = plugin({ 'aegis:test/host#transform': (s) => s }, { timeout: 0.15, fuelLimit: Infinity })
  const pending = blocked.sandbox.callAsync('call-transform', 'x')
  const end = Date.now() + 500
  while (Date.now() < end); // the event loop cannot serve the host call meanwhile
  const late = await expectRejects(pending, 'AEGIS_TIMEOUT')
  assert.ok(late.elapsed < 0.45, `the guest stopped waiting at its deadline (elapsed ${late.elapsed} s)`)
})

test('registerComponent: bad arguments, duplicates and missing imports', () => {
  const runtime = new aegis.Runtime()
  const sandbox = runtime.sandbox()
  expectCode(() => sandbox.registerComponent('log', 'not a function'), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => sandbox.registerComponent(42, () => {}), 'AEGIS_INVALID_ARGUMENT')
  sandbox.registerComponent('log', () => {})
  expectCode(() => sandbox.registerComponent('log', () => {}), 'AEGIS_INVALID_ARGUMENT')
  const err = expectCode(() => sandbox.loadModule(runtime.loadFile(guest('plugin.wasm'))), 'AEGIS_LINK_ERROR')
  assert.equal(err.module, 'aegis:test/host')
})

test('component calls under limits: fuel, timeout, interrupt, metrics, resultLimit', async () => {
  const fuel = expectCode(() => values({ fuelLimit: 10_000_000 }).sandbox.call('spin'), 'AEGIS_OUT_OF_FUEL')
  assert.equal(fuel.limit, 10_000_000)
  const timeout = expectCode(() => values({ fuelLimit: Infinity, timeout: 0.2 }).sandbox.call('spin'), 'AEGIS_TIMEOUT')
  assert.equal(timeout.limit, 0.2)
  const { sandbox, runtime, module } = values({ fuelLimit: Infinity })
  const stopped = await expectRejects(sandbox.callAsync('spin', { signal: AbortSignal.timeout(100) }), 'AEGIS_INTERRUPTED')
  assert.equal(stopped.cause.name, 'TimeoutError')
  sandbox.reset()
  const running = sandbox.callAsync('spin')
  expectCode(() => sandbox.call('add', 1, 2), 'AEGIS_BUSY')
  setTimeout(() => sandbox.interruptHandle().interrupt(), 50)
  await expectRejects(running, 'AEGIS_INTERRUPTED')
  sandbox.reset()
  assert.equal(await sandbox.callAsync('add', 1, 2), 3)
  assert.equal(sandbox.call('add', 1, 2), 3)
  assert.equal(sandbox.lastCallMetrics.calls, 1)
  assert.ok(sandbox.lastCallMetrics.fuelConsumed >= 0)
  assert.ok(sandbox.metrics.calls >= 4)
  // The memory grows under the memory limit.
  const grown = runtime.sandbox({ memoryLimit: '4MiB' })
  grown.loadModule(module)
  assert.ok(grown.call('grow', 1) > 0)
  const memory = expectCode(() => grown.call('grow', 100), 'AEGIS_MEMORY_LIMIT_EXCEEDED')
  assert.equal(memory.limit, 4 << 20)
  assert.ok(grown.lastCallMetrics.memoryPeak <= 4 << 20)
  // resultLimit: on the runtime or per sandbox.
  const capped = runtime.sandbox({ resultLimit: 100 })
  capped.loadModule(module)
  assert.equal(capped.call('make-string', 100), 'a'.repeat(100))
  let err = expectCode(() => capped.call('make-string', 101), 'AEGIS_RESULT_TOO_LARGE')
  assert.equal(err.limit, 100)
  assert.ok(err.size > 100)
  err = expectCode(() => capped.call('make-bytes', 1000), 'AEGIS_RESULT_TOO_LARGE')
  expectCode(() => capped.call('echo-strings', Array(10).fill('x')), 'AEGIS_RESULT_TOO_LARGE')
  capped.reset()
  const big = values({ resultLimit: '1KiB' }).sandbox
  expectCode(() => big.call('make-string', 2048), 'AEGIS_RESULT_TOO_LARGE')
  // ... and what a component passes to a host function.
  const host = plugin({}, { resultLimit: 100 }).sandbox
  assert.equal(host.call('call-transform', 'x'.repeat(50)), `<${'X'.repeat(50)}>`)
  expectCode(() => host.call('call-transform', 'x'.repeat(200)), 'AEGIS_RESULT_TOO_LARGE')
})

test('the guest panicking is AEGIS_TRAP; a trapped component needs reset()', () => {
  const { sandbox } = values()
  const err = expectCode(() => sandbox.call('do-panic'), 'AEGIS_TRAP')
  assert.equal(err.trapCode, 'unreachable')
  assert.equal(expectCode(() => sandbox.call('add', 1, 2), 'AEGIS_TRAP').trapCode, 'cannot_enter_component')
  sandbox.reset()
  assert.equal(sandbox.call('add', 1, 2), 3)
})
