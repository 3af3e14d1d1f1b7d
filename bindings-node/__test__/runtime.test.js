'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { aegis, CALC_WAT, expectCode } = require('./helpers')

test('Runtime defaults match the core; durations are seconds', () => {
  const limits = new aegis.Runtime().limits
  assert.deepEqual(limits, {
    memoryLimit: 64 * 1024 * 1024,
    fuelLimit: 1e9,
    timeout: 30,
    stackLimit: 512 * 1024,
    tableElementsLimit: 1e6,
  })
})

test('Runtime options set limits; sizes take units; Infinity, null or "off" turn fuel and timeout off', () => {
  const r = new aegis.Runtime({ memoryLimit: 1 << 20, fuelLimit: 5000, timeout: 0.25, stackLimit: 256 * 1024 })
  assert.equal(r.limits.memoryLimit, 1 << 20)
  assert.equal(r.limits.fuelLimit, 5000)
  assert.equal(r.limits.timeout, 0.25)
  assert.equal(r.limits.stackLimit, 256 * 1024)
  const text = new aegis.Runtime({ memoryLimit: '5MiB', stackLimit: '256KiB', timeout: 2 })
  assert.equal(text.limits.memoryLimit, 5 * 1024 * 1024)
  assert.equal(text.limits.stackLimit, 256 * 1024)
  assert.equal(text.limits.timeout, 2)
  for (const off of [Infinity, null, 'off']) {
    const r2 = new aegis.Runtime({ fuelLimit: off, timeout: off })
    assert.equal(r2.limits.fuelLimit, Infinity)
    assert.equal(r2.limits.timeout, Infinity)
  }
  // `undefined` is the same as leaving the option out.
  assert.equal(new aegis.Runtime({ timeout: undefined }).limits.timeout, 30)
})

test('capability options are accepted', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-node-'))
  for (const sub of ['r', 'w']) fs.mkdirSync(path.join(dir, sub))
  const r = new aegis.Runtime({
    allowRead: [path.join(dir, 'r')],
    allowWrite: [path.join(dir, 'w')],
    mapDirs: [{ host: dir, guest: '/data', access: 'write' }, { host: dir, guest: '/ro' }],
    allowClock: true,
    allowNet: ['127.0.0.1:8080', '10.0.0.0/8:443'],
    env: { GREETING: 'hi', SNAKE_CASE_NAME: 'kept as written' },
    args: ['guest', '--flag'],
    randomSeed: 2n ** 63n,
    captureOutput: '4KiB',
    onDenied: 'error',
    moduleLimits: { localsPerFunction: 100, blockDepth: 50 },
  })
  assert.ok(r.sandbox({ allowLogging: true }))
})

test('bad options throw AEGIS_INVALID_ARGUMENT naming the option; the core decides', () => {
  for (const [options, pattern] of [
    [{ memoryLimit: -1 }, /memoryLimit/],
    [{ memoryLimit: 1.5 }, /memoryLimit/],
    [{ memoryLimit: {} }, /memoryLimit/],
    [{ memoryLimit: '5 apples' }, /memoryLimit/],
    [{ memoryLimit: [] }, /memoryLimit/],
    [{ fuelLimit: NaN }, /fuelLimit must be a finite number, got NaN/],
    [{ fuelLimit: -Infinity }, /fuelLimit must be a finite number, got -Infinity/],
    [{ fuelLimit: 'of' }, /fuelLimit/],
    [{ timeout: -5 }, /timeout must be a positive number of seconds/],
    [{ timeout: 0 }, /timeout/],
    [{ stackLimit: 1024 }, /stack/],
    [{ allowRead: '/tmp' }, /allowRead/],
    [{ allowClock: 'yes' }, /allowClock/],
    [{ allowNet: ['not a rule'] }, /not a rule/],
    [{ mapDirs: [{ host: '/tmp', guest: '/t', access: 'execute' }] }, /mapDirs/],
    [{ mapDirs: [{ host: '/tmp', guest: '/t', mode: 'read' }] }, /unknown field `mode`/],
    [{ moduleLimits: { locals_per_function: 1 } }, /moduleLimits\.locals_per_function: keys are camelCase here \(`localsPerFunction`\)/],
    [{ randomSeed: 2n ** 64n }, /randomSeed: the BigInt does not fit in 64 bits/],
    [{ env: { A: () => 1 } }, /env\.A cannot be a function/],
    [{ allowLogging: true, captureOutput: true }, /allow_logging and capture_output/],
    [{ memory_limit: 5 }, /unknown option `memory_limit` \(did you mean `memoryLimit`\?\)/],
    [{ memoryLimt: 5 }, /unknown field `memoryLimt`, expected one of `memoryLimit`, `fuelLimit`, /],
    [{ ['k'.repeat(10000)]: 1 }, /unknown field `k+\.\.\./],
  ]) {
    const err = expectCode(() => new aegis.Runtime(options), 'AEGIS_INVALID_ARGUMENT')
    assert.equal(err.aegisCode, 'invalid_argument')
    assert.match(err.message, pattern, JSON.stringify(options, (k, v) => typeof v === 'bigint' ? `${v}n` : v))
    assert.ok(err.message.length < 1000, `the message echoes ${err.message.length} characters`)
  }
  for (const options of [5, 'memoryLimit', [], true]) {
    const err = expectCode(() => new aegis.Runtime(options), 'AEGIS_INVALID_ARGUMENT')
    assert.match(err.message, /Runtime options must be an object/)
    expectCode(() => new aegis.Runtime().sandbox(options), 'AEGIS_INVALID_ARGUMENT')
  }
})

test('a sandbox takes only options of scope "both"; it cannot enable a disabled fuel meter', () => {
  const r = new aegis.Runtime({ fuelLimit: Infinity })
  const err = expectCode(() => r.sandbox({ stackLimit: 512 * 1024 }), 'AEGIS_INVALID_ARGUMENT')
  assert.match(err.message, /stack_limit is a runtime option/)
  expectCode(() => r.sandbox({ fuelLimit: 10 }), 'AEGIS_INVALID_ARGUMENT')
  assert.equal(r.sandbox({ timeout: 1, memoryLimit: '1MiB' }).busy, false)
})

test('arguments of the wrong type are AEGIS_INVALID_ARGUMENT, never a Node-API error', () => {
  const r = new aegis.Runtime()
  const sandbox = r.sandbox()
  for (const fn of [
    () => r.loadWat(5),
    () => r.loadFile({}),
    () => r.loadBytes('(module)'),
    () => r.loadBytes(new Uint16Array(4)),
    () => r.validate(null),
    () => aegis.validate(7),
    () => sandbox.loadModule({}),
    () => sandbox.loadModule(sandbox),
    () => sandbox.callVoid(1),
    () => sandbox.registerFunc('env', 'f', 5),
    () => sandbox.registerFunc(1, 'f', () => {}),
    () => sandbox.registerFunc('env', 'f', () => {}, { params: 'i32' }),
    () => sandbox.registerFunc('env', 'f', () => {}, { param: ['i32'] }),
    () => sandbox.registerFunc('env', 'f', () => {}, 5),
    () => aegis.Runtime.fromPolicy(5),
  ]) {
    expectCode(fn, 'AEGIS_INVALID_ARGUMENT')
  }
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
    assert.match(err.message, /^invalid module: /)
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

test('ERROR_CODES lists every stable code; errorCodes() returns a copy', () => {
  const expected = [
    'AEGIS_INVALID_MODULE', 'AEGIS_LINK_ERROR', 'AEGIS_EXPORT_NOT_FOUND', 'AEGIS_SIGNATURE_MISMATCH',
    'AEGIS_OUT_OF_FUEL', 'AEGIS_TIMEOUT', 'AEGIS_MEMORY_LIMIT_EXCEEDED', 'AEGIS_STACK_OVERFLOW',
    'AEGIS_TRAP', 'AEGIS_HOST_FUNCTION', 'AEGIS_PERMISSION_DENIED', 'AEGIS_IO',
    'AEGIS_INVALID_ARGUMENT', 'AEGIS_EXIT', 'AEGIS_INTERRUPTED', 'AEGIS_MODULE_TOO_COMPLEX', 'AEGIS_BUSY',
    'AEGIS_MEMORY_OUT_OF_BOUNDS', 'AEGIS_RESULT_TOO_LARGE', 'AEGIS_INVALID_RESULT',
  ]
  assert.deepEqual([...aegis.ERROR_CODES], expected)
  assert.ok(Object.isFrozen(aegis.ERROR_CODES))
  const copy = aegis.errorCodes()
  assert.deepEqual(copy, expected)
  copy.pop()
  assert.equal(aegis.ERROR_CODES.length, expected.length)
})
