'use strict'

// One scenario per stable error code, each checking `code` and its detail properties.
const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { aegis, expectCode, loaded } = require('./helpers')

/** Codes no scenario here can produce, and why. Every other code must be seen. */
const UNREACHABLE = {
  // Raised by capability checks in aegis-core that no core-module guest can reach yet.
  AEGIS_PERMISSION_DENIED: 'no guest-reachable path',
  // Declared by aegis-core (ModuleTooComplex { what, found, limit }) but raised
  // by no core path yet; src/errors.rs maps its details already.
  AEGIS_MODULE_TOO_COMPLEX: 'not raised by aegis-core yet',
}

const seen = new Set()
function expectAegis(fn, code) {
  const err = expectCode(fn, code)
  assert.equal(err.aegisCode, code.slice('AEGIS_'.length).toLowerCase())
  seen.add(code)
  return err
}

test('AEGIS_INVALID_MODULE', () => {
  const err = expectAegis(() => new aegis.Runtime().loadWat('(module (func'), 'AEGIS_INVALID_MODULE')
  assert.equal(typeof err.detail, 'string')
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

test('AEGIS_TIMEOUT with elapsedMs and limitMs', () => {
  const { sandbox } = loaded(undefined, { fuelLimit: Infinity, timeout: 200 })
  const err = expectAegis(() => sandbox.call('spin'), 'AEGIS_TIMEOUT')
  assert.equal(err.limitMs, 200)
  assert.ok(err.elapsedMs >= 200 && err.elapsedMs < 5000, `elapsed ${err.elapsedMs}`)
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

test('AEGIS_IO', () => {
  expectAegis(() => new aegis.Runtime().loadFile('/no/such/file.wasm'), 'AEGIS_IO')
})

test('AEGIS_INVALID_ARGUMENT', () => {
  expectAegis(() => new aegis.Runtime({ stackLimit: 10 }), 'AEGIS_INVALID_ARGUMENT')
})

test('AEGIS_EXIT with status; proc_exit(0) is success', () => {
  const wat = (status) => `(module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func (export "_start") (call $exit (i32.const ${status}))))`
  const err = expectAegis(() => loaded(wat(3)).sandbox.run(), 'AEGIS_EXIT')
  assert.equal(err.status, 3)
  assert.equal(loaded(wat(0)).sandbox.run(), undefined)
})

test('AEGIS_INTERRUPTED with elapsedMs', () => {
  const { sandbox } = loaded()
  sandbox.interrupt()
  const err = expectAegis(() => sandbox.call('add', 1, 2), 'AEGIS_INTERRUPTED')
  assert.equal(typeof err.elapsedMs, 'number')
  assert.ok(err.elapsedMs >= 0 && err.elapsedMs < 1000, `elapsedMs ${err.elapsedMs}`)
  assert.equal(sandbox.call('add', 1, 2), 3)
})

test('errorCodes() lists AEGIS_ codes, each once, the same as index.d.ts', () => {
  const codes = aegis.errorCodes()
  assert.equal(new Set(codes).size, codes.length)
  for (const code of codes) assert.match(code, /^AEGIS_[A-Z_]+$/)
  assert.ok(codes.includes('AEGIS_INTERRUPTED') && codes.includes('AEGIS_MODULE_TOO_COMPLEX'))
  for (const code of Object.keys(UNREACHABLE)) assert.ok(codes.includes(code), `${code} is not a code`)
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
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
  const expected = aegis.errorCodes().filter((c) => !(c in UNREACHABLE))
  assert.deepEqual([...seen].sort(), [...expected].sort())
})
