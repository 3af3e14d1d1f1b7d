'use strict'

// The npm packages as a user gets them (scripts/test-node.sh installs the
// tarballs of scripts/dist-node.sh into a fresh directory with no Rust on
// PATH and runs this suite against that install): what the tarballs hold,
// that `require('aegis')` is that installed copy and loads the prebuilt
// addon of the platform package, and that the TypeScript a user writes
// (the README's example, the typing example) passes `tsc --strict` against
// the installed index.d.ts and @types/node, and runs.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { aegis, INSTALL_DIR, PACKAGE_DIR } = require('./helpers')

const ROOT = path.join(__dirname, '..', '..')
const SOURCE = require('../package.json')
const DIST = process.env.AEGIS_NODE_DIST
const TSC = path.join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc')
const skip = INSTALL_DIR && DIST ? false : 'run by scripts/test-node.sh (AEGIS_NODE_INSTALL, AEGIS_NODE_DIST)'

/** The tarball of `name`. */
function tarball(name) {
  return path.join(DIST, `${name}-${SOURCE.version}.tgz`)
}

/** The files a tarball holds. */
function listing(tgz) {
  const tar = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8' })
  assert.equal(tar.status, 0, tar.stderr)
  return tar.stdout.trim().split('\n').sort()
}

/** The package.json inside a tarball. */
function manifest(tgz) {
  const tar = spawnSync('tar', ['-xOzf', tgz, 'package/package.json'], { encoding: 'utf8' })
  assert.equal(tar.status, 0, tar.stderr)
  return JSON.parse(tar.stdout)
}

/** Whether `inner` is `outer` or inside it (real paths). */
function inside(inner, outer) {
  const rel = path.relative(fs.realpathSync(outer), fs.realpathSync(inner))
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}

/** The Node section of README.md. */
function nodeSection() {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const section = readme.match(/<!-- section:node -->([\s\S]*?)<!-- \/section:node -->/)
  assert.ok(section, 'README has a node section')
  return section[1]
}

/**
 * Compiles `files` (name → TypeScript) with `tsc --strict` in a new
 * directory of the install, resolving `aegis` and `@types/node` as a
 * user's project does; returns the directory.
 */
function compile(name, files, { emit = false } = {}) {
  const dir = path.join(INSTALL_DIR, name)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir)
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text)
  const tsconfig = {
    compilerOptions: {
      strict: true,
      target: 'ES2022',
      module: 'commonjs',
      moduleResolution: 'node10',
      types: ['node'],
      ...(emit ? { outDir: 'out' } : { noEmit: true }),
    },
    files: Object.keys(files),
  }
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
  const tsc = spawnSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8', timeout: 120_000 })
  assert.equal(tsc.status, 0, `tsc --strict failed:\n${tsc.stdout}${tsc.stderr}`)
  return dir
}

test('require("aegis") is the installed package, not a link into the repository', { skip }, () => {
  const resolved = require.resolve('aegis', { paths: [INSTALL_DIR] })
  assert.ok(inside(resolved, path.join(INSTALL_DIR, 'node_modules', 'aegis')), resolved)
  assert.ok(!inside(resolved, path.join(ROOT, 'bindings-node')), `${resolved} is in the repository`)
  assert.ok(!fs.lstatSync(path.join(INSTALL_DIR, 'node_modules', 'aegis')).isSymbolicLink())
  assert.equal(PACKAGE_DIR, path.dirname(resolved))
  assert.equal(require(path.join(PACKAGE_DIR, 'package.json')).name, 'aegis-wasm-sandbox')
  // The addon loaded is the platform package's, not one in the source tree.
  const addons = Object.keys(require.cache).filter((f) => f.endsWith('.node'))
  assert.equal(addons.length, 1, addons.join(', '))
  const platform = path.join(INSTALL_DIR, 'node_modules', 'aegis-wasm-sandbox-linux-x64-gnu')
  assert.ok(inside(addons[0], platform), addons[0])
  assert.equal(typeof aegis.Runtime, 'function')
})

test('the suite runs with no cargo or rustc on PATH', { skip }, () => {
  const which = spawnSync('sh', ['-c', 'command -v cargo || command -v rustc'], { encoding: 'utf8' })
  assert.notEqual(which.status, 0, `found ${which.stdout}`)
})

test('the main tarball: index.js, index.d.ts, README, licences; no install script, no sources', { skip }, () => {
  const main = tarball(SOURCE.name)
  assert.deepEqual(listing(main), [
    'package/LICENSE-APACHE',
    'package/LICENSE-MIT',
    'package/README.md',
    'package/index.d.ts',
    'package/index.js',
    'package/package.json',
  ])
  const m = manifest(main)
  assert.equal(m.name, 'aegis-wasm-sandbox')
  assert.equal(m.version, SOURCE.version)
  assert.equal(m.scripts, undefined, 'no scripts at all')
  assert.equal(m.devDependencies, undefined)
  assert.deepEqual(m.optionalDependencies, { 'aegis-wasm-sandbox-linux-x64-gnu': SOURCE.version })
  assert.ok(m.dependencies['@types/node'], 'index.d.ts needs @types/node')
  assert.equal(m.types, 'index.d.ts')
  const dts = fs.readFileSync(path.join(PACKAGE_DIR, 'index.d.ts'), 'utf8')
  assert.match(dts, /^\/\/\/ <reference types="node" \/>/)
})

test('the platform tarball: the release addon, installed only on linux x64 glibc', { skip }, () => {
  const platform = tarball('aegis-wasm-sandbox-linux-x64-gnu')
  assert.deepEqual(listing(platform), [
    'package/LICENSE-APACHE',
    'package/LICENSE-MIT',
    'package/README.md',
    'package/aegis.linux-x64-gnu.node',
    'package/package.json',
  ])
  const m = manifest(platform)
  assert.equal(m.version, SOURCE.version)
  assert.deepEqual([m.os, m.cpu, m.libc, m.main], [['linux'], ['x64'], ['glibc'], 'aegis.linux-x64-gnu.node'])
  assert.equal(m.scripts, undefined)
  // A release build: a debug addon is over 100 MB.
  const addon = path.join(INSTALL_DIR, 'node_modules', 'aegis-wasm-sandbox-linux-x64-gnu', 'aegis.linux-x64-gnu.node')
  const size = fs.statSync(addon).size
  assert.ok(size < 80 * 2 ** 20, `addon of ${size} bytes`)
})

test('the README TypeScript example passes tsc --strict against the installed package, and runs', { skip }, () => {
  const block = nodeSection().match(/```ts\n([\s\S]*?)```/)
  assert.ok(block, "README's Node section has a ```ts example")
  assert.match(block[1], /catch \(err\) \{\n\s*if \(isAegisError\(err\)\)/, 'its catch block narrows with isAegisError')
  const dir = compile('readme-ts', { 'example.ts': block[1] }, { emit: true })
  const run = spawnSync(process.execPath, [path.join(dir, 'out', 'example.js')], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
  assert.equal(run.status, 0, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
  assert.match(run.stdout, /guest says: hello from the guest/)
  assert.match(run.stdout, /AEGIS_OUT_OF_FUEL: consumed \d+ of 10000/)
})

test('the typing example passes tsc --strict against the installed package', { skip }, () => {
  const example = fs.readFileSync(path.join(__dirname, 'types', 'example.ts'), 'utf8')
  compile('typing', { 'example.ts': example })
})

test('a type error in user code fails tsc --strict (the check has teeth)', { skip }, () => {
  const bad = [
    "import { Runtime, isAegisError } from 'aegis'",
    'try { new Runtime() } catch (err) { console.log(err.code) }',   // err is unknown
  ].join('\n')
  assert.throws(() => compile('typing-bad', { 'bad.ts': bad }), /tsc --strict failed[\s\S]*'err' is of type 'unknown'/)
  const fixed = [
    "import { Runtime, isAegisError } from 'aegis'",
    'try { new Runtime() } catch (err) { if (isAegisError(err)) console.log(err.code, err.limit) }',
  ].join('\n')
  compile('typing-fixed', { 'fixed.ts': fixed })
})

test('the package README example runs against the installed package', { skip }, () => {
  const readme = fs.readFileSync(path.join(PACKAGE_DIR, 'README.md'), 'utf8')
  assert.match(readme, /npm install aegis@npm:aegis-wasm-sandbox/)
  const block = readme.match(/```js\n([\s\S]*?)```/)
  assert.ok(block, 'the package README has a ```js example')
  const dir = path.join(INSTALL_DIR, 'package-readme')
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'example.cjs'), block[1])
  const run = spawnSync(process.execPath, [path.join(dir, 'example.cjs')], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(run.status, 0, run.stderr)
  assert.equal(run.stdout, '5\n')
})
