'use strict'

// One scenario per stable error code, each checking `code` and its detail properties.
const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { aegis, PACKAGE_DIR, expectCode, expectRejects, loaded } = require('./helpers')

/** Codes no scenario here can produce, and why. Every other code must be seen. */
const UNREACHABLE = {}

/** Properties every Aegis error has besides its details. */
const BASE = new Set(['code', 'aegisCode', 'message', 'stack', 'cause'])

const seen = new Set()
/** Checks an Aegis error: its code, and that every other property is a core detail. */
function checkAegis(err, code) {
  assert.equal(err.aegisCode, code.slice('AEGIS_'.length).toLowerCase())
  for (const key of Object.getOwnPropertyNames(err)) {
    assert.ok(BASE.has(key) || aegis.DETAIL_NAMES.includes(key), `${code}: \`${key}\` is not a core detail`)
  }
  seen.add(code)
  return err
}
function expectAegis(fn, code) {
  return checkAegis(expectCode(fn, code), code)
}
async function rejectsAegis(promise, code) {
  return checkAegis(await expectRejects(promise, code), code)
}

test('AEGIS_INVALID_MODULE', () => {
  const err = expectAegis(() => new aegis.Runtime().loadWat('(module (func'), 'AEGIS_INVALID_MODULE')
  assert.match(err.message, /^invalid module: /)
})

test('AEGIS_LINK_ERROR for a missing or mistyped import', () => {
  const runtime = new aegis.Runtime()
  const module = runtime.loadWat('(module (import "env" "f" (func (param i32))))')
  let err = expectAegis(() => runtime.sandbox().loadModule(module), 'AEGIS_LINK_ERROR')
  assert.equal(err.module, 'env')
  assert.equal(err.name, 'f')
  assert.equal(typeof err.reason, 'string')
  const sandbox = runtime.sandbox()
  sandbox.registerFunc('env', 'f', () => {}, { params: ['i64'] })
  err = expectAegis(() => sandbox.loadModule(module), 'AEGIS_LINK_ERROR')
  assert.match(err.reason, /i64/)
})

test('AEGIS_EXPORT_NOT_FOUND', () => {
  expectAegis(() => loaded().sandbox.call('missing'), 'AEGIS_EXPORT_NOT_FOUND')
})

test('AEGIS_SIGNATURE_MISMATCH', () => {
  expectAegis(() => loaded().sandbox.call('add', 1, 2, 3), 'AEGIS_SIGNATURE_MISMATCH')
})

test('AEGIS_OUT_OF_FUEL with consumed and limit', () => {
  const err = expectAegis(() => loaded(undefined, { fuelLimit: 50000 }).sandbox.call('spin'), 'AEGIS_OUT_OF_FUEL')
  assert.equal(err.limit, 50000)
  assert.equal(err.consumed, 50000)
})

test('AEGIS_TIMEOUT with elapsed and limit in seconds', () => {
  const { sandbox } = loaded(undefined, { fuelLimit: Infinity, timeout: 0.2 })
  const err = expectAegis(() => sandbox.call('spin'), 'AEGIS_TIMEOUT')
  assert.equal(err.limit, 0.2)
  assert.ok(err.elapsed >= 0.2 && err.elapsed < 5, `elapsed ${err.elapsed}`)
})

test('AEGIS_MEMORY_LIMIT_EXCEEDED for a memory bomb', () => {
  const { sandbox } = loaded(undefined, { memoryLimit: 4 * 65536 })
  assert.equal(sandbox.call('grow', 1), 1)
  const err = expectAegis(() => sandbox.call('grow', 1000), 'AEGIS_MEMORY_LIMIT_EXCEEDED')
  assert.equal(err.resource, 'memory')
  assert.equal(err.limit, 4 * 65536)
  assert.ok(err.requested > err.limit)
})

test('AEGIS_STACK_OVERFLOW for runaway recursion', () => {
  const err = expectAegis(() => loaded().sandbox.call('recurse', 0), 'AEGIS_STACK_OVERFLOW')
  assert.equal(err.limit, 512 * 1024)
})

test('AEGIS_TRAP with trapCode', () => {
  const { sandbox } = loaded()
  let err = expectAegis(() => sandbox.call('boom'), 'AEGIS_TRAP')
  assert.equal(err.trapCode, 'unreachable')
  assert.equal(typeof err.backtrace, 'string')
  err = expectAegis(() => sandbox.call('div', 1, 0), 'AEGIS_TRAP')
  assert.equal(err.trapCode, 'integer_division_by_zero')
})

test('AEGIS_HOST_FUNCTION with the thrown error as cause', () => {
  const runtime = new aegis.Runtime()
  const sandbox = runtime.sandbox()
  const original = new RangeError('no way')
  sandbox.registerFunc('env', 'f', () => { throw original })
  sandbox.loadModule(runtime.loadWat('(module (import "env" "f" (func $f)) (func (export "go") (call $f)))'))
  const err = expectAegis(() => sandbox.call('go'), 'AEGIS_HOST_FUNCTION')
  assert.equal(err.cause, original)
  assert.match(err.message, /no way/)
})

test('AEGIS_PERMISSION_DENIED with capability, operation and target', () => {
  // With onDenied: 'error', a refused capability fails the call.
  const wat = `(module
    (import "wasi_snapshot_preview1" "clock_time_get" (func $now (param i32 i64 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "now") (result i32) (call $now (i32.const 0) (i64.const 0) (i32.const 8))))`
  const { sandbox } = loaded(wat, { onDenied: 'error' })
  let err = expectAegis(() => sandbox.call('now'), 'AEGIS_PERMISSION_DENIED')
  assert.equal(err.capability, 'clock')
  assert.equal(err.operation, 'clock_time_get')
  assert.equal(typeof err.target, 'string')
  assert.equal(sandbox.lastCallMetrics.deniedCount, 1)
  // By default the guest gets an error number and the refusal is recorded.
  const quiet = loaded(wat).sandbox
  assert.equal(typeof quiet.call('now'), 'number')
  assert.deepEqual(quiet.lastCallMetrics.denied.map((d) => [d.capability, d.operation]), [['clock', 'clock_time_get']])
  // A module not on the runtime's allowed list.
  const pinned = new aegis.Runtime({ allowedModules: ['sha256:' + '0'.repeat(64)] })
  err = expectAegis(() => pinned.loadWat('(module)'), 'AEGIS_PERMISSION_DENIED')
  assert.equal(err.capability, 'module')
  assert.equal(err.operation, 'load')
  assert.match(err.target, /^sha256:[0-9a-f]{64}$/)
})

test('AEGIS_IO', () => {
  expectAegis(() => new aegis.Runtime().loadFile('/no/such/file.wasm'), 'AEGIS_IO')
})

test('AEGIS_INVALID_ARGUMENT', () => {
  const err = expectAegis(() => new aegis.Runtime({ stackLimit: 10 }), 'AEGIS_INVALID_ARGUMENT')
  assert.match(err.message, /^invalid argument: /)
})

test('AEGIS_EXIT with status; proc_exit(0) is success when no results are wanted (the core\'s rule)', async () => {
  const wat = (status) => `(module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func (export "_start") (call $exit (i32.const ${status})))
    (func (export "with_result") (result i32) (call $exit (i32.const ${status})) (i32.const 1)))`
  const err = expectAegis(() => loaded(wat(3)).sandbox.run(), 'AEGIS_EXIT')
  assert.equal(err.status, 3)
  const { sandbox } = loaded(wat(0))
  assert.equal(sandbox.run(), undefined)
  assert.equal(sandbox.call('_start'), undefined)
  assert.equal(sandbox.callVoid('_start'), undefined)
  assert.equal(await sandbox.callAsync('_start'), undefined)
  assert.equal(await sandbox.runAsync(), undefined)
  assert.equal(expectAegis(() => sandbox.call('with_result'), 'AEGIS_EXIT').status, 0)
  assert.equal(sandbox.callVoid('with_result'), undefined, 'callVoid wants no results')
  assert.equal((await rejectsAegis(sandbox.callAsync('with_result'), 'AEGIS_EXIT')).status, 0)
})

test('AEGIS_INTERRUPTED with elapsed in seconds', () => {
  const { sandbox } = loaded()
  sandbox.interrupt()
  const err = expectAegis(() => sandbox.call('add', 1, 2), 'AEGIS_INTERRUPTED')
  assert.equal(typeof err.elapsed, 'number')
  assert.ok(err.elapsed >= 0 && err.elapsed < 1, `elapsed ${err.elapsed}`)
  assert.equal(sandbox.call('add', 1, 2), 3)
})

test('AEGIS_MODULE_TOO_COMPLEX with what, found and limit', () => {
  const runtime = new aegis.Runtime({ moduleLimits: { functions: 1 } })
  const err = expectAegis(() => runtime.loadWat('(module (func) (func))'), 'AEGIS_MODULE_TOO_COMPLEX')
  assert.equal(typeof err.what, 'string')
  assert.equal(err.found, 2)
  assert.equal(err.limit, 1)
  assert.ok(runtime.loadWat('(module (func))'))
})

test('AEGIS_BUSY for a call while a callAsync runs, and for re-entry from a host function', async () => {
  const { sandbox } = loaded(undefined, { fuelLimit: Infinity, timeout: 0.3 })
  const running = sandbox.callAsync('spin')
  const err = expectAegis(() => sandbox.call('add', 1, 2), 'AEGIS_BUSY')
  assert.match(err.message, /^sandbox is busy/)
  await rejectsAegis(sandbox.callAsync('add', 1, 2), 'AEGIS_BUSY')
  await expectRejects(running, 'AEGIS_TIMEOUT')

  const runtime = new aegis.Runtime()
  const host = runtime.sandbox()
  let inner
  host.registerFunc('env', 'f', () => {
    try { host.call('go') } catch (e) { inner = e; throw e }
  })
  host.loadModule(runtime.loadWat('(module (import "env" "f" (func $f)) (func (export "go") (call $f)))'))
  const outer = expectAegis(() => host.call('go'), 'AEGIS_HOST_FUNCTION')
  checkAegis(inner, 'AEGIS_BUSY')
  assert.equal(inner.message, err.message, 'one message: the core\'s')
  assert.equal(outer.cause, inner)
})

/** A bytes-convention guest whose exports return hostile output pointers. */
const HOSTILE_BYTES_WAT = `(module
  (memory (export "memory") 1)
  (func (export "aegis_alloc") (param i32) (result i32) (i32.const 1024))
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len))))
  (func (export "echo") (param i32 i32) (result i64) (call $pack (local.get 0) (local.get 1)))
  (func (export "out_of_bounds") (param i32 i32) (result i64) (call $pack (i32.const 65530) (i32.const 16)))
  (func (export "huge") (param i32 i32) (result i64) (call $pack (i32.const 0) (i32.const -1)))
  (func (export "not_utf8") (param i32 i32) (result i64)
    (i32.store (i32.const 0) (i32.const 0xc080feff))
    (call $pack (i32.const 0) (i32.const 4))))`

test('AEGIS_MEMORY_OUT_OF_BOUNDS with offset, len and size', () => {
  const { sandbox } = loaded(HOSTILE_BYTES_WAT)
  let err = expectAegis(() => sandbox.readMemory(65530, 16), 'AEGIS_MEMORY_OUT_OF_BOUNDS')
  assert.equal(err.offset, 65530)
  assert.equal(err.len, 16)
  assert.equal(err.size, 65536)
  assert.match(err.message, /65530/)
  err = expectAegis(() => sandbox.writeMemory(65535, Buffer.from('ab')), 'AEGIS_MEMORY_OUT_OF_BOUNDS')
  assert.deepEqual([err.offset, err.len, err.size], [65535, 2, 65536])
  err = expectAegis(() => sandbox.callBytes('out_of_bounds', Buffer.from('x')), 'AEGIS_MEMORY_OUT_OF_BOUNDS')
  assert.deepEqual([err.offset, err.len, err.size], [65530, 16, 65536])
})

test('AEGIS_RESULT_TOO_LARGE with size and limit', () => {
  const { sandbox } = loaded(HOSTILE_BYTES_WAT, { resultLimit: '1MiB' })
  let err = expectAegis(() => sandbox.callBytes('huge', Buffer.from('x')), 'AEGIS_RESULT_TOO_LARGE')
  assert.equal(err.size, 2 ** 32 - 1)
  assert.equal(err.limit, 1 << 20)
  const small = loaded(HOSTILE_BYTES_WAT, {}, { resultLimit: 4 }).sandbox
  assert.equal(small.callStr('echo', 'abcd'), 'abcd')
  err = expectAegis(() => small.callStr('echo', 'abcde'), 'AEGIS_RESULT_TOO_LARGE')
  assert.deepEqual([err.size, err.limit], [5, 4])
})

test('AEGIS_INVALID_RESULT for output that is not UTF-8', () => {
  const { sandbox } = loaded(HOSTILE_BYTES_WAT)
  const err = expectAegis(() => sandbox.callStr('not_utf8', 'x'), 'AEGIS_INVALID_RESULT')
  assert.match(err.message, /not UTF-8/)
  assert.deepEqual(sandbox.callBytes('not_utf8', Buffer.from('x')), Buffer.from([0xff, 0xfe, 0x80, 0xc0]))
})

test('ERROR_CODES lists AEGIS_ codes, each once, the same as index.d.ts', () => {
  const codes = [...aegis.ERROR_CODES]
  assert.equal(new Set(codes).size, codes.length)
  for (const code of codes) assert.match(code, /^AEGIS_[A-Z_]+$/)
  assert.ok(codes.includes('AEGIS_INTERRUPTED') && codes.includes('AEGIS_BUSY'))
  for (const code of Object.keys(UNREACHABLE)) assert.ok(codes.includes(code), `${code} is not a code`)
  const dts = fs.readFileSync(path.join(PACKAGE_DIR, 'index.d.ts'), 'utf8')
  const union = dts.match(/export type AegisErrorCode =([^;]*?)\n\n/)
  assert.ok(union, 'index.d.ts declares AegisErrorCode')
  const declared = [...union[1].matchAll(/'(AEGIS_[A-Z_]+)'/g)].map((m) => m[1])
  assert.deepEqual(declared, codes)
})

test('every error is an Error with a stack and a message naming the problem', () => {
  const err = expectCode(() => loaded().sandbox.call('boom'), 'AEGIS_TRAP')
  assert.ok(err.stack.includes('errors.test.js'))
  assert.match(err.message, /^trap: /)
})

after(() => {
  const expected = aegis.ERROR_CODES.filter((c) => !(c in UNREACHABLE))
  assert.deepEqual([...seen].sort(), [...expected].sort())
})
