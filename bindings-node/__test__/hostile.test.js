// The hostile-guest corpus (tests/hostile/expectations.tsv) through the Node binding.
//
// One test per case: each must reach its expected outcome with the secret next
// to the scratch grant unchanged. The observed outcomes are written to
// target/hostile/node.tsv (name<TAB>outcome) for the cross-front-end table.
// The reference runner is aegis-core/tests/hostile.rs; this one does the same
// through `require('aegis')`.
'use strict'

const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { aegis, expectCode } = require('./helpers')

const ROOT = path.resolve(__dirname, '..', '..')
const SECRET = 'TOP SECRET'

/** The cases of the expectations file, in order. */
function loadCases() {
  const text = fs.readFileSync(path.join(ROOT, 'tests', 'hostile', 'expectations.tsv'), 'utf8')
  return text
    .split('\n')
    .filter((line) => !line.startsWith('#') && line.trim() !== '')
    .map((line) => {
      const cols = line.split('\t')
      assert.equal(cols.length, 5, `bad expectation line: ${line}`)
      const options = cols[3] === '-'
        ? []
        : cols[3].split(',').map((item) => {
          const at = item.indexOf('=')
          return at < 0 ? [item, ''] : [item.slice(0, at), item.slice(at + 1)]
        })
      return { name: cols[0], module: cols[1], entry: cols[2], options, expect: cols[4] }
    })
}

/** `$SCRATCH` with inside.txt, next to ../secret.txt, plus a symlink escaping to it. */
function makeScratch() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-hostile-'))
  const scratch = path.join(root, 'scratch')
  fs.mkdirSync(scratch)
  fs.writeFileSync(path.join(scratch, 'inside.txt'), 'inside')
  fs.writeFileSync(path.join(root, 'secret.txt'), SECRET)
  fs.symlinkSync('../secret.txt', path.join(scratch, 'link-out'))
  return { root, scratch, secret: path.join(root, 'secret.txt') }
}

/** Translates the case's options into `new Runtime(...)` options. */
function runtimeOptions(c, scratch) {
  const sub = (v) => v.split('$SCRATCH').join(scratch)
  const opts = {}
  const argv = [c.module]
  for (const [key, value] of c.options) {
    switch (key) {
      case 'fuel': opts.fuelLimit = Number(value); break
      case 'no_fuel': opts.fuelLimit = Infinity; break
      case 'timeout_ms': opts.timeout = Number(value) / 1000; break
      case 'memory': opts.memoryLimit = Number(value); break
      case 'stack': opts.stackLimit = Number(value); break
      case 'table_elements': opts.tableElementsLimit = Number(value); break
      case 'handles': opts.handleLimit = Number(value); break
      case 'capture': opts.captureOutput = Number(value); break
      case 'result_limit': opts.resultLimit = Number(value); break
      case 'allow_read': (opts.allowRead ??= []).push(sub(value)); break
      case 'allow_write': (opts.allowWrite ??= []).push(sub(value)); break
      case 'args': argv.push(...sub(value).split(' ')); break
      default: throw new Error(`${c.name}: unknown option ${key}`)
    }
  }
  opts.args = argv
  return opts
}

/** The standard `aegis_test` host functions; `reenter` tries its own sandbox. */
function registerHost(sandbox, seen) {
  sandbox.registerFunc('aegis_test', 'ok', (x) => x + 1, { params: ['i32'], results: ['i32'] })
  sandbox.registerFunc('aegis_test', 'fail', () => { throw new Error('refused by the host') }, { results: ['i32'] })
  sandbox.registerFunc('aegis_test', 'panic', () => { throw new TypeError('host function panicked on purpose') })
  sandbox.registerFunc('aegis_test', 'reenter', () => {
    try {
      sandbox.call('noop')
    } catch (err) {
      seen.refusal = err
      throw err
    }
  })
}

function modulePath(c) {
  return c.module.startsWith('guest:')
    ? path.join(ROOT, 'target', 'guests', 'out', c.module.slice('guest:'.length))
    : path.join(ROOT, 'tests', 'hostile', c.module)
}

function codeOf(err) {
  assert.ok(err instanceof Error && typeof err.code === 'string' && err.code.startsWith('AEGIS_'), `not an Aegis error: ${err}`)
  return err.code.slice('AEGIS_'.length).toLowerCase()
}

/** How far past its limit a `timeout` may arrive (the core promises a few ms; the machine is shared). */
const TIMEOUT_SLACK_MS = 700

/** The case's `timeout_ms`, if it sets one. */
function timeoutOf(c) {
  const opt = c.options.find(([key]) => key === 'timeout_ms')
  return opt ? Number(opt[1]) : undefined
}

/** Asserts a `timeout` outcome came on time: `wallMs` measured around the call. */
function assertOnTime(c, error, wallMs) {
  const limit = timeoutOf(c)
  if (c.expect !== 'timeout' || limit === undefined || error?.code !== 'AEGIS_TIMEOUT') return
  assert.equal(error.limit, limit / 1000, 'the limit is in seconds')
  assert.ok(error.elapsed * 1000 < limit + TIMEOUT_SLACK_MS, `elapsed ${error.elapsed} s for a ${limit} ms limit`)
  assert.ok(wallMs < limit + TIMEOUT_SLACK_MS, `the call took ${wallMs} ms for a ${limit} ms limit`)
}

/** The input of `bytes:` and `str:` entries. */
const INPUT = 'hello aegis'

/**
 * Calls the case's entry (not `-`): `_run` the default entry, `bytes:NAME`
 * and `str:NAME` through the bytes convention with INPUT, `wit:NAME` a
 * component export without arguments and `wit:NAME:TEXT` with the string
 * TEXT (split at the first colon, as the Rust runner does), anything else
 * an export without arguments. With `async`, the same through the `*Async`
 * methods (a promise).
 */
function callEntry(sandbox, entry, async = false) {
  if (entry === '_run') return async ? sandbox.runAsync() : sandbox.run()
  const at = entry.indexOf(':')
  const [kind, rest] = at < 0 ? ['', entry] : [entry.slice(0, at), entry.slice(at + 1)]
  switch (kind) {
    case 'bytes':
      return async ? sandbox.callBytesAsync(rest, Buffer.from(INPUT)) : sandbox.callBytes(rest, Buffer.from(INPUT))
    case 'str':
      return async ? sandbox.callStrAsync(rest, INPUT) : sandbox.callStr(rest, INPUT)
    case 'wit': {
      const sep = rest.indexOf(':')
      const args = sep < 0 ? [rest] : [rest.slice(0, sep), rest.slice(sep + 1)]
      return async ? sandbox.callAsync(...args) : sandbox.call(...args)
    }
    default:
      return async ? sandbox.callAsync(entry) : sandbox.call(entry)
  }
}

/** Runs one case: `{ outcome, denied, error, wallMs }`, the outcome a stable code or `ok`. */
function observe(c, scratch, seen) {
  const runtime = new aegis.Runtime(runtimeOptions(c, scratch))
  let module
  try {
    module = runtime.loadFile(modulePath(c))
  } catch (err) {
    return { outcome: codeOf(err), denied: [], error: err }
  }
  if (c.entry === '-') return { outcome: 'ok', denied: [], error: undefined }
  const sandbox = runtime.sandbox()
  registerHost(sandbox, seen)
  try {
    sandbox.loadModule(module)
  } catch (err) {
    return { outcome: codeOf(err), denied: [], error: err }
  }
  let error
  const started = performance.now()
  try {
    callEntry(sandbox, c.entry)
  } catch (err) {
    error = err
  }
  const wallMs = performance.now() - started
  const denied = sandbox.metrics.denied.map((d) => d.capability)
  return { outcome: error ? codeOf(error) : 'ok', denied, error, wallMs }
}

const CASES = loadCases()
const observed = new Map()

after(() => {
  const dir = path.join(ROOT, 'target', 'hostile')
  fs.mkdirSync(dir, { recursive: true })
  const lines = CASES.filter((c) => observed.has(c.name)).map((c) => `${c.name}\t${observed.get(c.name)}\n`)
  fs.writeFileSync(path.join(dir, 'node.tsv'), lines.join(''))
})

test('the corpus has unique case names', () => {
  const names = CASES.map((c) => c.name)
  assert.equal(new Set(names).size, names.length)
  assert.ok(names.length >= 40, `only ${names.length} cases`)
})

for (const c of CASES) {
  test(`hostile: ${c.name} -> ${c.expect}`, () => {
    const s = makeScratch()
    const seen = {}
    try {
      const { outcome, denied, error, wallMs } = observe(c, s.scratch, seen)
      const cap = c.expect.startsWith('denied:') ? c.expect.slice('denied:'.length) : undefined
      observed.set(c.name, cap && denied.includes(cap) ? `denied:${cap}` : outcome)

      assert.equal(fs.readFileSync(s.secret, 'utf8'), SECRET, 'the secret was modified')
      if (cap) {
        assert.ok(denied.includes(cap), `expected a refusal of ${cap}, got ${outcome} (denied ${denied})`)
      } else {
        assert.equal(outcome, c.expect, `got ${outcome}: ${error?.message}`)
      }
      if (c.name === 'host_reenter') {
        // The binding refused the nested call itself; that refusal is the cause.
        assert.equal(seen.refusal?.code, 'AEGIS_BUSY')
        assert.match(seen.refusal.message, /sandbox is busy/)
        assert.equal(error.cause, seen.refusal)
      }
      if (c.name === 'host_panic') assert.ok(error.cause instanceof TypeError)
      assertOnTime(c, error, wallMs)
    } finally {
      fs.rmSync(s.root, { recursive: true, force: true })
    }
  })
}

// The `timeout` cases again through callAsync/runAsync: there the guest runs
// on a libuv worker thread, and a guest blocked in WASI must be let go on
// time there too (and leave the event loop free meanwhile).
for (const c of CASES.filter((c) => c.expect === 'timeout' && timeoutOf(c) !== undefined)) {
  test(`hostile (async): ${c.name} -> timeout`, async () => {
    const s = makeScratch()
    try {
      const runtime = new aegis.Runtime(runtimeOptions(c, s.scratch))
      const sandbox = runtime.sandbox()
      registerHost(sandbox, {})
      sandbox.loadModule(runtime.loadFile(modulePath(c)))
      let ticks = 0
      const timer = setInterval(() => { ticks += 1 }, 10)
      const started = performance.now()
      let error
      try {
        await callEntry(sandbox, c.entry, true)
      } catch (err) {
        error = err
      } finally {
        clearInterval(timer)
      }
      const wallMs = performance.now() - started
      assert.equal(error ? codeOf(error) : 'ok', 'timeout', error?.message)
      assertOnTime(c, error, wallMs)
      assert.ok(ticks >= 5, `the event loop ticked ${ticks} times while the guest ran`)
      assert.equal(fs.readFileSync(s.secret, 'utf8'), SECRET, 'the secret was modified')
    } finally {
      fs.rmSync(s.root, { recursive: true, force: true })
    }
  })
}

test('handleLimit reaches the core, per runtime and per sandbox', () => {
  const s = makeScratch()
  try {
    const args = ['probe', 'openmany', path.join(s.scratch, 'inside.txt'), '100']
    const runtime = new aegis.Runtime({ allowRead: [s.scratch], args, captureOutput: true, handleLimit: 32 })
    const module = runtime.loadFile(path.join(ROOT, 'target', 'guests', 'out', 'probe-p1.wasm'))
    const tight = runtime.sandbox()
    tight.loadModule(module)
    expectCode(() => tight.run(), 'AEGIS_MEMORY_LIMIT_EXCEEDED')
    const roomy = runtime.sandbox({ handleLimit: 4096 })
    roomy.loadModule(module)
    roomy.run()
    assert.match(roomy.stdout.toString(), /opened 100/)
    expectCode(() => new aegis.Runtime({ handleLimit: 1.5 }), 'AEGIS_INVALID_ARGUMENT')
    expectCode(() => new aegis.Runtime({ handleLimit: -1 }), 'AEGIS_INVALID_ARGUMENT')
  } finally {
    fs.rmSync(s.root, { recursive: true, force: true })
  }
})
