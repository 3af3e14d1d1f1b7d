'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { aegis, CALC_WAT, expectCode } = require('./helpers')

test('Runtime defaults match the core', () => {
  const limits = new aegis.Runtime().limits
  assert.deepEqual(limits, {
    memoryLimit: 64 * 1024 * 1024,
    fuelLimit: 1e9,
    timeout: 30000,
    stackLimit: 512 * 1024,
    tableElementsLimit: 1e6,
  })
})

test('Runtime options set limits; Infinity turns fuel and timeout off', () => {
  const r = new aegis.Runtime({ memoryLimit: 1 << 20, fuelLimit: 5000, timeout: 250, stackLimit: 256 * 1024 })
  assert.equal(r.limits.memoryLimit, 1 << 20)
  assert.equal(r.limits.fuelLimit, 5000)
  assert.equal(r.limits.timeout, 250)
  assert.equal(r.limits.stackLimit, 256 * 1024)
  const off = new aegis.Runtime({ fuelLimit: Infinity, timeout: Infinity })
  assert.equal(off.limits.fuelLimit, Infinity)
  assert.equal(off.limits.timeout, Infinity)
})

test('capability options are accepted', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-node-'))
  const r = new aegis.Runtime({
    allowRead: dir,
    allowWrite: [dir],
    mapDirs: [{ host: dir, guest: '/data', access: 'write' }],
    allowClock: true,
    allowNet: ['127.0.0.1:8080', '10.0.0.0/8:443'],
    env: { GREETING: 'hi' },
    args: ['guest', '--flag'],
    randomSeed: 7,
    captureOutput: 4096,
  })
  assert.ok(r.sandbox({ allowLogging: true }))
})

test('bad options throw AEGIS_INVALID_ARGUMENT', () => {
  for (const options of [
    { memoryLimit: -1 },
    { memoryLimit: 1.5 },
    { fuelLimit: NaN },
    { timeout: -5 },
    { timeout: 0 },
    { stackLimit: 1024 },
    { allowNet: ['not a rule'] },
    { mapDirs: [{ host: '/tmp', guest: '/t', access: 'execute' }] },
    { allowLogging: true, captureOutput: true },
  ]) {
    const err = expectCode(() => new aegis.Runtime(options), 'AEGIS_INVALID_ARGUMENT')
    assert.equal(err.aegisCode, 'invalid_argument')
    assert.equal(typeof err.detail, 'string', JSON.stringify(options))
  }
})

test('a sandbox cannot change the engine-wide stack limit or enable a disabled fuel meter', () => {
  const r = new aegis.Runtime({ fuelLimit: Infinity })
  expectCode(() => r.sandbox({ stackLimit: 128 * 1024 }), 'AEGIS_INVALID_ARGUMENT')
  expectCode(() => r.sandbox({ fuelLimit: 10 }), 'AEGIS_INVALID_ARGUMENT')
  assert.ok(r.sandbox({ stackLimit: 512 * 1024 }))
})

test('loadWat, loadBytes and loadFile compile the same module', () => {
  const r = new aegis.Runtime()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-node-'))
  const file = path.join(dir, 'calc.wat')
  fs.writeFileSync(file, CALC_WAT)
  const modules = [r.loadWat(CALC_WAT), r.loadBytes(Buffer.from(CALC_WAT)), r.loadFile(file)]
  const names = modules.map((m) => m.functionNames)
  assert.deepEqual(names[0], names[1])
  assert.deepEqual(names[0], names[2])
  assert.ok(names[0].includes('add'))
  // Binary wasm, as a plain Uint8Array.
  const binary = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])
  assert.deepEqual(r.loadBytes(binary).exports, [])
})

test('module imports and exports carry their types', () => {
  const r = new aegis.Runtime()
  const m = r.loadWat(`(module
    (import "env" "log" (func (param i32 i64)))
    (import "env" "mem" (memory 1))
    (global (export "g") (mut i32) (i32.const 0))
    (table (export "t") 2 funcref)
    (memory (export "memory") 1 4)
    (func (export "f") (param f32) (result f64) (f64.const 1)))`)
  assert.equal(m.isComponent, false)
  assert.deepEqual(m.imports[0], {
    module: 'env', name: 'log', kind: 'function', type: '(i32, i64) -> ()', params: ['i32', 'i64'], results: [],
  })
  assert.equal(m.imports[1].kind, 'memory')
  assert.equal(m.imports[1].params, undefined)
  const byName = Object.fromEntries(m.exports.map((e) => [e.name, e]))
  assert.equal(byName.g.kind, 'global')
  assert.equal(byName.g.type, 'mut i32')
  assert.equal(byName.t.kind, 'table')
  assert.equal(byName.memory.type, '1 pages (max 4)')
  assert.deepEqual(byName.f.params, ['f32'])
  assert.deepEqual(byName.f.results, ['f64'])
  assert.match(m.describe(), /^import env\.log \[function\]: \(i32, i64\) -> \(\)$/m)
  assert.match(m.describe(), /^export f \[function\]: \(f32\) -> \(f64\)$/m)
})

test('validate accepts valid modules and throws AEGIS_INVALID_MODULE otherwise', () => {
  const r = new aegis.Runtime()
  const valid = Buffer.from('(module (func (export "f")))')
  assert.equal(aegis.validate(valid), undefined)
  assert.equal(r.validate(valid), undefined)
  for (const bad of [Buffer.from('(module (func (export "f") (i32.add)))'), Buffer.from([0, 0x61, 0x73, 0x6d, 9, 9]), Buffer.alloc(0)]) {
    const err = expectCode(() => aegis.validate(bad), 'AEGIS_INVALID_MODULE')
    assert.equal(typeof err.detail, 'string')
    expectCode(() => r.validate(bad), 'AEGIS_INVALID_MODULE')
  }
})

test('malformed modules and missing files throw typed errors', () => {
  const r = new aegis.Runtime()
  expectCode(() => r.loadWat('(module (func (export "f") (result i32)))'), 'AEGIS_INVALID_MODULE')
  expectCode(() => r.loadBytes(Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff])), 'AEGIS_INVALID_MODULE')
  const err = expectCode(() => r.loadFile('/nonexistent/aegis/guest.wasm'), 'AEGIS_IO')
  assert.match(err.message, /nonexistent/)
})

test('errorCodes lists every stable code', () => {
  assert.deepEqual(aegis.errorCodes(), [
    'AEGIS_INVALID_MODULE', 'AEGIS_LINK_ERROR', 'AEGIS_EXPORT_NOT_FOUND', 'AEGIS_SIGNATURE_MISMATCH',
    'AEGIS_OUT_OF_FUEL', 'AEGIS_TIMEOUT', 'AEGIS_MEMORY_LIMIT_EXCEEDED', 'AEGIS_STACK_OVERFLOW',
    'AEGIS_TRAP', 'AEGIS_HOST_FUNCTION', 'AEGIS_PERMISSION_DENIED', 'AEGIS_IO',
    'AEGIS_INVALID_ARGUMENT', 'AEGIS_EXIT', 'AEGIS_INTERRUPTED', 'AEGIS_MODULE_TOO_COMPLEX',
  ])
})
