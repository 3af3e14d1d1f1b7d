'use strict'

// Every failure a JS caller can cause is an Aegis error: wrong-typed
// arguments to every exported function and method (found by walking the
// module's exports, so a new method is swept too) throw or reject with an
// `AEGIS_` code, never napi's `InvalidArg`/`NumberExpected`/... codes.
// Options are checked by the core's policy type: an unknown key is the
// core's unknown field, named in camelCase.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { aegis, CALC_WAT, expectCode } = require('./helpers')

/** Values of every JS kind, none of them what any parameter wants. */
const WRONG = [
  undefined,
  null,
  true,
  -1,
  1.5,
  NaN,
  Infinity,
  2n ** 70n,
  '',
  'x'.repeat(300),
  Symbol('s'),
  {},
  [],
  [1, 'two'],
  () => 1,
  new Map(),
  new Uint16Array(2),
  new Date(0),
  Object.create(null),
]

/** A value for a message (`String()` throws for some, e.g. a null-prototype object). */
function show(value) {
  try {
    return typeof value === 'symbol' ? value.toString() : String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** `err` is an Aegis error; `what` names the attempt in the failure message. */
function assertAegis(err, what) {
  assert.ok(err instanceof Error, `${what} threw a non-Error: ${String(err)}`)
  assert.ok(typeof err.code === 'string' && err.code.startsWith('AEGIS_'), `${what}: code ${err.code} (${err.message})`)
  assert.ok(aegis.isAegisError(err), `${what}: isAegisError`)
}

/** Calls `f`; a throw, or a rejection of what it returns, must be an Aegis error. */
async function attempt(f, what) {
  let out
  try {
    out = f()
  } catch (err) {
    assertAegis(err, what)
    return
  }
  if (out && typeof out.then === 'function') {
    try {
      await out
    } catch (err) {
      assertAegis(err, what)
    }
  }
}

/** Own method and getter names of a class's prototype. */
function members(cls) {
  return Object.getOwnPropertyNames(cls.prototype).filter((n) => n !== 'constructor')
}

/** Argument lists for a sweep: each wrong value alone, then in each of three slots. */
function argumentLists() {
  const lists = [[]]
  for (const v of WRONG) {
    lists.push([v], ['add', v], ['env', 'log', v], [v, v, v], ['add', 1, v])
  }
  return lists
}

test('every exported function and method refuses wrong-typed arguments with an AEGIS_ code', async () => {
  const runtime = new aegis.Runtime({ fuelLimit: 1e6, timeout: 5 })
  const module = runtime.loadWat(CALC_WAT)
  const targets = {
    Runtime: () => runtime,
    Module: () => module,
    Sandbox: () => {
      const s = runtime.sandbox()
      s.loadModule(module)
      return s
    },
    InterruptHandle: () => runtime.sandbox().interruptHandle(),
  }
  const classes = Object.entries(aegis).filter(([, v]) => typeof v === 'function' && /^[A-Z]/.test(v.name))
  const functions = Object.entries(aegis).filter(([, v]) => typeof v === 'function' && !/^[A-Z]/.test(v.name))
  assert.ok(functions.length >= 3 && classes.length >= 5, 'the exports were found')
  let attempts = 0
  for (const [name, cls] of classes) {
    for (const args of argumentLists()) {
      await attempt(() => new cls(...args), `new ${name}(${args.map(show)})`)
      attempts++
    }
    if (!(name in targets)) continue // Caller: swept live in caller.test.js
    for (const member of members(cls)) {
      for (const args of argumentLists()) {
        const self = targets[name]()
        const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, member)
        const what = `${name}.${member}(${args.map(show)})`
        if (descriptor.get) await attempt(() => descriptor.get.call(self), what)
        else await attempt(() => self[member](...args), what)
        attempts++
      }
    }
    for (const staticName of Object.getOwnPropertyNames(cls).filter((n) => typeof cls[n] === 'function')) {
      for (const args of argumentLists()) await attempt(() => cls[staticName](...args), `${name}.${staticName}`)
    }
  }
  for (const [name, f] of functions) {
    for (const args of argumentLists()) await attempt(() => f(...args), `${name}(${args.map(show)})`)
  }
  // The bound export functions, and each option of the options objects.
  const sandbox = targets.Sandbox()
  for (const args of argumentLists()) await attempt(() => sandbox.func('add')(...args), 'func(add)')
  for (const option of aegis.OPTIONS) {
    for (const value of WRONG) {
      await attempt(() => new aegis.Runtime({ [option.name]: value }), `new Runtime({ ${option.name}: ${show(value)} })`)
      await attempt(() => runtime.sandbox({ [option.name]: value }), `sandbox({ ${option.name}: ${show(value)} })`)
    }
  }
  assert.ok(attempts > 1000, `${attempts} attempts`)
})

test('an unknown option is the core\'s unknown field, named in camelCase', () => {
  for (const make of [(o) => new aegis.Runtime(o), (o) => new aegis.Runtime().sandbox(o), (o) => aegis.Runtime.fromPolicy('', o)]) {
    const err = expectCode(() => make({ memoryLimt: 5 }), 'AEGIS_INVALID_ARGUMENT')
    assert.match(err.message, /unknown field `memoryLimt`, expected one of `memoryLimit`, `fuelLimit`/)
    assert.doesNotMatch(err.message, /memory_limit/)
  }
  // Nested objects too.
  let err = expectCode(() => new aegis.Runtime({ moduleLimits: { functionz: 1 } }), 'AEGIS_INVALID_ARGUMENT')
  assert.match(err.message, /`moduleLimits\.functionz`: unknown field `functionz`, expected one of `functions`, `localsPerFunction`/)
  err = expectCode(() => new aegis.Runtime({ mapDirs: [{ host: '/tmp', guest: '/t', acess: 'read' }] }), 'AEGIS_INVALID_ARGUMENT')
  assert.match(err.message, /unknown field `acess`/)
  // The core's names are for policy files.
  err = expectCode(() => new aegis.Runtime({ memory_limit: 5 }), 'AEGIS_INVALID_ARGUMENT')
  assert.match(err.message, /`memory_limit` \(did you mean `memoryLimit`\?\)/)
})

test('memoryLimit takes the core\'s units; a wrong kind of value is AEGIS_INVALID_ARGUMENT naming it', () => {
  assert.equal(new aegis.Runtime({ memoryLimit: '5MiB' }).limits.memoryLimit, 5 * 2 ** 20)
  assert.equal(new aegis.Runtime({ memoryLimit: '512KiB' }).limits.memoryLimit, 512 * 1024)
  assert.equal(new aegis.Runtime({ memoryLimit: 5 * 2 ** 20 }).limits.memoryLimit, 5 * 2 ** 20)
  for (const bad of ['5 parsecs', {}, [], true]) {
    const err = expectCode(() => new aegis.Runtime({ memoryLimit: bad }), 'AEGIS_INVALID_ARGUMENT')
    assert.match(err.message, /memoryLimit/)
  }
})

test('isAegisError narrows only Aegis errors and never throws', () => {
  const err = expectCode(() => new aegis.Runtime({ memoryLimt: 5 }), 'AEGIS_INVALID_ARGUMENT')
  assert.equal(aegis.isAegisError(err), true)
  const fake = Object.assign(new Error('x'), { code: 'AEGIS_NOT_A_CODE' })
  const plain = Object.assign(new Error('x'), { code: 'ENOENT' })
  const lookalike = { code: 'AEGIS_TRAP', message: 'not an Error' }
  const throwing = new Proxy(new Error('x'), { get() { throw new Error('trap') } })
  const values = { fake, plain, lookalike, throwing, undefined, null: null, string: 'AEGIS_TRAP', number: 5, object: {} }
  for (const [label, value] of Object.entries(values)) {
    assert.equal(aegis.isAegisError(value), false, label)
  }
  assert.equal(aegis.isAegisError(Object.assign(new TypeError('y'), { code: 'AEGIS_BUSY' })), true)
})
