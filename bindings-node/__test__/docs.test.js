'use strict'

// The API reference (scripts/docs-node.sh: TypeDoc over index.d.ts, warnings
// as errors) builds, documents the API, and fails on a broken reference.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { INSTALL_DIR, PACKAGE_DIR } = require('./helpers')

const ROOT = path.join(__dirname, '..', '..')
const TYPEDOC = path.join(__dirname, '..', 'node_modules', 'typedoc', 'bin', 'typedoc')
const skip = INSTALL_DIR ? false : 'run by scripts/test-node.sh (AEGIS_NODE_INSTALL)'

/** Runs TypeDoc with the project's options over `dts` (in a directory of the install). */
function typedoc(name, dts) {
  const dir = path.join(INSTALL_DIR, name)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'index.d.ts'), dts)
  fs.copyFileSync(path.join(__dirname, '..', 'tsconfig.json'), path.join(dir, 'tsconfig.json'))
  const args = [
    TYPEDOC,
    '--options', path.join(__dirname, '..', 'typedoc.json'),
    '--entryPoints', path.join(dir, 'index.d.ts'),
    '--tsconfig', path.join(dir, 'tsconfig.json'),
    '--readme', 'none',
    '--out', path.join(dir, 'html'),
  ]
  const run = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 180_000 })
  return { ...run, dir }
}

test('scripts/docs-node.sh builds the HTML reference of the whole API', { skip }, () => {
  const out = path.join(INSTALL_DIR, 'docs')
  const run = spawnSync('bash', [path.join(ROOT, 'scripts', 'docs-node.sh'), out], { encoding: 'utf8', timeout: 180_000 })
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`)
  const pages = fs.readdirSync(out, { recursive: true }).map(String)
  for (const page of ['classes/Caller.html', 'classes/Sandbox.html', 'classes/Runtime.html', 'functions/isAegisError.html', 'interfaces/AegisError.html', 'interfaces/Options.html']) {
    assert.ok(pages.includes(page), `${page} in ${pages.length} pages`)
  }
  const caller = fs.readFileSync(path.join(out, 'classes', 'Caller.html'), 'utf8')
  assert.match(caller, /readString/)
  assert.match(caller, /AEGIS_MEMORY_OUT_OF_BOUNDS/)
})

test('a broken {@link} in the declarations fails the docs build', { skip }, () => {
  const dts = fs.readFileSync(path.join(PACKAGE_DIR, 'index.d.ts'), 'utf8')
  const good = typedoc('docs-good', dts)
  assert.equal(good.status, 0, `${good.stdout}\n${good.stderr}`)
  const broken = dts.replace('/** A wasm value:', '/** See {@link NoSuchThing}. A wasm value:')
  assert.notEqual(broken, dts)
  const bad = typedoc('docs-broken', broken)
  assert.notEqual(bad.status, 0, 'typedoc accepted a broken link')
  assert.match(`${bad.stdout}${bad.stderr}`, /NoSuchThing/)
})
