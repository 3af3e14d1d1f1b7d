'use strict'

// The core's one vocabulary as the Node binding exposes it: every option
// (OPTIONS), error code (ERROR_CODES), detail (DETAIL_NAMES) and metric
// (METRIC_NAMES) is accepted or produced, declared in index.d.ts and named in
// README.md. The lists come from aegis-core through the addon, so a new core
// name fails here until the binding, its types and its docs have it.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { aegis, PACKAGE_DIR, expectCode, loaded } = require('./helpers')

const ROOT = path.join(__dirname, '..', '..')
const DTS = fs.readFileSync(path.join(PACKAGE_DIR, 'index.d.ts'), 'utf8')
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')

/** The Node section of README.md. */
function nodeSection() {
  const section = README.match(/<!-- section:node -->([\s\S]*?)<!-- \/section:node -->/)
  assert.ok(section, 'README has a node section')
  return section[1]
}

/** The body of `export interface <name> { ... }` in index.d.ts. */
function dtsInterface(name) {
  const body = DTS.match(new RegExp(`export interface ${name}(?: extends \\w+)? \\{\\n([\\s\\S]*?)\\n\\}`))
  assert.ok(body, `index.d.ts declares interface ${name}`)
  return body[1]
}

/** Each member of an interface body with its JSDoc text (whitespace collapsed). */
function members(body) {
  const out = new Map()
  const re = /(?:\/\*\*([\s\S]*?)\*\/\s*)?\n?\s*(\w+)\??: /g
  for (const m of body.matchAll(re)) {
    const doc = (m[1] ?? '').split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join(' ').replace(/\s+/g, ' ').trim()
    out.set(m[2], doc)
  }
  return out
}

/** A valid value for each option, by camelCase name. */
function sampleValues(dir) {
  // One grant per guest path: the core refuses a path granted twice.
  for (const sub of ['r', 'w']) fs.mkdirSync(path.join(dir, sub), { recursive: true })
  return {
    memoryLimit: '16MiB',
    fuelLimit: 1e6,
    timeout: 1.5,
    stackLimit: 256 * 1024,
    tableElementsLimit: 1000,
    handleLimit: 64,
    resultLimit: '1MiB',
    allowRead: [path.join(dir, 'r')],
    allowWrite: [path.join(dir, 'w')],
    mapDirs: [{ host: dir, guest: '/data', access: 'read' }],
    allowLogging: true,
    captureOutput: 4096,
    allowClock: true,
    allowNet: ['127.0.0.1:8080'],
    env: { A: '1' },
    args: ['guest'],
    randomSeed: 7,
    onDenied: 'error',
    stdin: { text: 'hello' },
    instancePool: 2,
    compileCache: dir,
    maxModuleSize: '1MiB',
    moduleLimits: { functions: 100, localsPerFunction: 10 },
    wasmExceptions: true,
    wasmGc: false,
    allowedModules: ['a'.repeat(64)],
  }
}

test('OPTIONS is the core list: camelCase names, docs, defaults, units, scopes; frozen', () => {
  assert.ok(Object.isFrozen(aegis.OPTIONS) && aegis.OPTIONS.every(Object.isFrozen))
  assert.ok(aegis.OPTIONS.length >= 24)
  const names = aegis.OPTIONS.map((o) => o.name)
  assert.equal(new Set(names).size, names.length)
  for (const o of aegis.OPTIONS) {
    assert.match(o.name, /^[a-z][a-zA-Z]*$/)
    assert.equal(o.name, o.coreName.replace(/_([a-z])/g, (_, c) => c.toUpperCase()))
    assert.ok(['both', 'runtime'].includes(o.scope), o.scope)
    for (const key of ['doc', 'default', 'unit']) assert.ok(o[key].length > 0, `${o.name}.${key}`)
  }
  const timeout = aegis.OPTIONS.find((o) => o.name === 'timeout')
  assert.match(timeout.unit, /seconds/)
})

test('parity: every option is accepted by new Runtime, and by a sandbox when its scope is both', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-vocab-'))
  try {
    const samples = sampleValues(dir)
    const runtime = new aegis.Runtime({ fuelLimit: 1e9 })
    for (const o of aegis.OPTIONS) {
      assert.ok(o.name in samples, `no sample value for ${o.name}: add one to this test`)
      const options = { [o.name]: samples[o.name] }
      assert.ok(new aegis.Runtime(options), o.name)
      if (o.scope === 'both') {
        assert.ok(runtime.sandbox(options), o.name)
      } else {
        const err = expectCode(() => runtime.sandbox(options), 'AEGIS_INVALID_ARGUMENT')
        assert.match(err.message, new RegExp(`${o.coreName} is a runtime option`))
      }
    }
    // And all at once (but logging, which excludes capture).
    const all = { ...samples }
    delete all.allowLogging
    assert.ok(new aegis.Runtime(all))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('parity: every option is declared in index.d.ts with its doc, and named in README', () => {
  const declared = members(dtsInterface('Options'))
  assert.deepEqual([...declared.keys()], aegis.OPTIONS.map((o) => o.name), 'index.d.ts Options lists the core options in order')
  const table = README.match(/<!-- options:begin -->([\s\S]*?)<!-- options:end -->/)
  assert.ok(table, 'README has the options table')
  const node = nodeSection()
  for (const o of aegis.OPTIONS) {
    assert.ok(declared.get(o.name).includes(o.doc), `index.d.ts: the doc of ${o.name} starts from the core's "${o.doc}"`)
    assert.ok(table[1].includes(`| \`${o.coreName}\` |`), `README options table lists ${o.coreName}`)
    assert.ok(node.includes(`\`${o.name}\``), `README's Node section names ${o.name}`)
  }
})

test('parity: every error detail is declared in index.d.ts and named in README', () => {
  assert.ok(Object.isFrozen(aegis.DETAIL_NAMES))
  const declared = members(dtsInterface('AegisError'))
  const node = nodeSection()
  for (const name of aegis.DETAIL_NAMES) {
    assert.match(name, /^[a-z][a-zA-Z]*$/)
    assert.ok(declared.has(name), `index.d.ts AegisError declares ${name}`)
    assert.ok(declared.get(name).length > 0, `index.d.ts documents ${name}`)
    assert.ok(node.includes(`\`${name}\``), `README's Node section names ${name}`)
  }
  for (const name of declared.keys()) {
    assert.ok(['code', 'aegisCode', 'cause', ...aegis.DETAIL_NAMES].includes(name), `AegisError.${name} is not a core detail`)
  }
})

test('every error code is in README\'s error table and the Node section', () => {
  const table = README.slice(README.indexOf('| code | Rust variant | when |')).split('\n\n')[0]
  const core = [...table.matchAll(/^\| `([a-z_]+)` \| `[A-Z]\w*(?: \{[^}]*\})?` \|/gm)].map((m) => `AEGIS_${m[1].toUpperCase()}`)
  assert.deepEqual(core, [...aegis.ERROR_CODES], "README's error table lists the core codes in order")
  const node = nodeSection()
  for (const code of ['AEGIS_BUSY', 'AEGIS_PERMISSION_DENIED', 'AEGIS_INVALID_ARGUMENT']) assert.ok(node.includes(code), code)
})

test('metrics come from the core: METRIC_NAMES in order, wallTime in seconds', () => {
  assert.ok(Object.isFrozen(aegis.METRIC_NAMES))
  const { sandbox } = loaded()
  sandbox.call('add', 1, 2)
  for (const metrics of [sandbox.metrics, sandbox.lastCallMetrics]) {
    assert.deepEqual(Object.keys(metrics), [...aegis.METRIC_NAMES])
    assert.equal(typeof metrics.wallTime, 'number')
    assert.ok(metrics.wallTime >= 0 && metrics.wallTime < 5, `wallTime ${metrics.wallTime} s`)
  }
  const declared = members(dtsInterface('Metrics'))
  assert.deepEqual([...declared.keys()], [...aegis.METRIC_NAMES])
  const node = nodeSection()
  for (const name of aegis.METRIC_NAMES) assert.ok(node.includes(name), `README's Node section names ${name}`)
})

test('Runtime.fromPolicy reads TOML or JSON, as text or a file; overrides win', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-policy-'))
  try {
    const toml = 'memory_limit = "2MiB"\nfuel_limit = 5000\ntimeout = 1.5\n[env]\nA = "1"\n'
    const tomlFile = path.join(dir, 'policy.toml')
    fs.writeFileSync(tomlFile, toml)
    const json = '{"memory_limit": 1048576, "timeout": "off"}'
    const jsonFile = path.join(dir, 'policy.json')
    fs.writeFileSync(jsonFile, json)
    const extensionless = path.join(dir, 'policy')
    fs.writeFileSync(extensionless, toml)
    for (const source of [toml, tomlFile, extensionless]) {
      const limits = aegis.Runtime.fromPolicy(source).limits
      assert.equal(limits.memoryLimit, 2 << 20, source)
      assert.equal(limits.fuelLimit, 5000)
      assert.equal(limits.timeout, 1.5)
    }
    for (const source of [json, jsonFile]) {
      const limits = aegis.Runtime.fromPolicy(source).limits
      assert.equal(limits.memoryLimit, 1 << 20)
      assert.equal(limits.timeout, Infinity)
    }
    const over = aegis.Runtime.fromPolicy(tomlFile, { fuelLimit: Infinity, timeout: 0.5 }).limits
    assert.equal(over.memoryLimit, 2 << 20)
    assert.equal(over.fuelLimit, Infinity)
    assert.equal(over.timeout, 0.5)
    // A policy runs: its fuel limit applies to the sandboxes.
    const runtime = aegis.Runtime.fromPolicy(toml)
    const sandbox = runtime.sandbox()
    sandbox.loadModule(runtime.loadWat('(module (func (export "spin") (loop (br 0))))'))
    assert.equal(expectCode(() => sandbox.call('spin'), 'AEGIS_OUT_OF_FUEL').limit, 5000)
    // Errors: a missing file, unknown names (the file uses the core's names), bad overrides.
    const missing = expectCode(() => aegis.Runtime.fromPolicy(path.join(dir, 'nope.toml')), 'AEGIS_IO')
    assert.match(missing.message, /nope\.toml/)
    let err = expectCode(() => aegis.Runtime.fromPolicy('memoryLimit = 5'), 'AEGIS_INVALID_ARGUMENT')
    assert.match(err.message, /unknown field `memoryLimit`/)
    err = expectCode(() => aegis.Runtime.fromPolicy('{"memory_limt": 5}'), 'AEGIS_INVALID_ARGUMENT')
    assert.match(err.message, /unknown field `memory_limt`/)
    expectCode(() => aegis.Runtime.fromPolicy(toml, { memory_limit: 1 }), 'AEGIS_INVALID_ARGUMENT')
    expectCode(() => aegis.Runtime.fromPolicy(toml, { allowLogging: true, captureOutput: true }), 'AEGIS_INVALID_ARGUMENT')
    // The README's policy file.
    const example = README.match(/```toml\n# policy\.toml\n([\s\S]*?)```/)
    assert.ok(example, 'README has the policy example')
    const pinned = aegis.Runtime.fromPolicy(example[1])
    expectCode(() => pinned.loadWat('(module)'), 'AEGIS_PERMISSION_DENIED')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
