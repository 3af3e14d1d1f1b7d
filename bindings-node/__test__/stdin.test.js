'use strict'

// The `stdin` option: a guest's fd 0 is empty by default, or the bytes,
// text, regular file or inherited stdin the embedder gives it.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { aegis, PACKAGE_DIR, expectCode } = require('./helpers')

/**
 * A WASI guest whose `cat` copies fd 0 to fd 1 until end of file and
 * returns the byte count (or minus the errno of a failed read).
 */
const CAT_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "cat") (result i32)
    (local $n i32) (local $errno i32) (local $total i32)
    (block $done
      (loop $more
        (i32.store (i32.const 0) (i32.const 1024))
        (i32.store (i32.const 4) (i32.const 4096))
        (local.set $errno (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
        (if (local.get $errno) (then (return (i32.sub (i32.const 0) (local.get $errno)))))
        (local.set $n (i32.load (i32.const 16)))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $total (i32.add (local.get $total) (local.get $n)))
        (i32.store (i32.const 32) (i32.const 1024))
        (i32.store (i32.const 36) (local.get $n))
        (drop (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 40)))
        (br $more)))
    (local.get $total)))`

/** Runs `cat` in a sandbox with `options` (sandbox options, over `runtimeOptions`). */
function cat(options, runtimeOptions = {}) {
  const runtime = new aegis.Runtime({ captureOutput: '1MiB', ...runtimeOptions })
  const sandbox = runtime.sandbox(options)
  sandbox.loadModule(runtime.loadWat(CAT_WAT))
  const count = sandbox.call('cat')
  return { count, out: sandbox.stdout }
}

/** A new temporary directory, removed after `t`. */
function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-stdin-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('stdin is empty by default: the guest reads end of file at once', () => {
  assert.deepEqual(cat(), { count: 0, out: Buffer.alloc(0) })
  assert.deepEqual(cat({ stdin: 'empty' }), { count: 0, out: Buffer.alloc(0) })
})

test('stdin bytes (Buffer or Uint8Array) reach the guest exactly', () => {
  const bytes = Buffer.alloc(10_000)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256
  assert.deepEqual(cat({ stdin: bytes }), { count: 10_000, out: bytes })
  const view = new Uint8Array([0, 255, 10, 13, 0])
  assert.deepEqual(cat({ stdin: view }).out, Buffer.from(view))
  // On a runtime, every sandbox reads them from the start; a sandbox's own wins.
  const runtime = new aegis.Runtime({ captureOutput: true, stdin: Buffer.from('shared') })
  const module = runtime.loadWat(CAT_WAT)
  for (const [options, expected] of [[undefined, 'shared'], [undefined, 'shared'], [{ stdin: Buffer.from('own') }, 'own'], [{ stdin: 'empty' }, '']]) {
    const sandbox = runtime.sandbox(options)
    sandbox.loadModule(module)
    sandbox.call('cat')
    assert.equal(sandbox.stdout.toString(), expected)
  }
  // The bytes are copied when the options are read.
  const mutable = Buffer.from('before')
  const runtime2 = new aegis.Runtime({ captureOutput: true })
  const sandbox = runtime2.sandbox({ stdin: mutable })
  mutable.write('AFTER!')
  sandbox.loadModule(runtime2.loadWat(CAT_WAT))
  sandbox.call('cat')
  assert.equal(sandbox.stdout.toString(), 'before')
})

test('stdin text is given as UTF-8', () => {
  assert.equal(cat({ stdin: { text: 'héllo, wörld\n' } }).out.toString(), 'héllo, wörld\n')
  assert.equal(cat({}, { stdin: { text: 'from the runtime' } }).out.toString(), 'from the runtime')
})

test('stdin from a regular file works; a FIFO, a directory or a missing file is refused', (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'input.bin')
  const content = Buffer.from([...Array(3000).keys()].map((i) => i % 251))
  fs.writeFileSync(file, content)
  assert.deepEqual(cat({ stdin: { file } }), { count: 3000, out: content })
  assert.deepEqual(cat({}, { stdin: { file } }).out, content)

  const fifo = path.join(dir, 'fifo')
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo')
  const started = Date.now()
  const err = expectCode(() => cat({ stdin: { file: fifo } }), 'AEGIS_INVALID_ARGUMENT')
  assert.match(err.message, /FIFO/)
  assert.ok(Date.now() - started < 5000, 'refused without waiting for a writer')
  assert.match(expectCode(() => cat({ stdin: { file: dir } }), 'AEGIS_INVALID_ARGUMENT').message, /directory/)
  assert.match(expectCode(() => cat({ stdin: { file: '/dev/zero' } }), 'AEGIS_INVALID_ARGUMENT').message, /device/)
  expectCode(() => cat({ stdin: { file: path.join(dir, 'missing') } }), 'AEGIS_IO')
})

test('stdin: inherit reads this process\'s stdin', () => {
  const script = `
    const { Runtime } = require(${JSON.stringify(PACKAGE_DIR)})
    const runtime = new Runtime({ captureOutput: true, stdin: 'inherit' })
    const sandbox = runtime.sandbox()
    sandbox.loadModule(runtime.loadWat(${JSON.stringify(CAT_WAT)}))
    const count = sandbox.call('cat')
    process.stdout.write(count + ':' + sandbox.stdout.toString())`
  const run = spawnSync(process.execPath, ['-e', script], { input: 'piped in\n', encoding: 'utf8', timeout: 30_000 })
  assert.equal(run.status, 0, run.stderr)
  assert.equal(run.stdout, '9:piped in\n')
})

test('a bad stdin value is AEGIS_INVALID_ARGUMENT naming stdin', () => {
  const runtime = new aegis.Runtime()
  for (const stdin of ['stdout', 5, true, {}, { file: 5 }, { text: 1 }, { file: 'a', text: 'b' }, ['x'], new Uint16Array(2)]) {
    const err = expectCode(() => runtime.sandbox({ stdin }), 'AEGIS_INVALID_ARGUMENT')
    assert.match(err.message, /stdin/, String(stdin))
    expectCode(() => new aegis.Runtime({ stdin }), 'AEGIS_INVALID_ARGUMENT')
  }
})

test('a Rust WASI command reads its stdin through std (tests/guests/probe: probe cat)', (t) => {
  const probe = path.join(__dirname, '..', '..', 'target', 'guests', 'out', 'probe-p1.wasm')
  assert.ok(fs.existsSync(probe), `${probe}: run scripts/build-guests.sh`)
  const runtime = new aegis.Runtime({ captureOutput: '1MiB' })
  const module = runtime.loadFile(probe)
  const input = Buffer.from([...Array(70_000).keys()].map((i) => (i * 31) % 256))
  const file = path.join(tempDir(t), 'input')
  fs.writeFileSync(file, input)
  for (const [stdin, expected] of [[input, input], [{ file }, input], [{ text: 'text\n' }, Buffer.from('text\n')], [undefined, Buffer.alloc(0)]]) {
    const sandbox = runtime.sandbox({ args: ['probe', 'cat'], stdin })
    sandbox.loadModule(module)
    sandbox.run()
    assert.deepEqual(sandbox.stdout, expected)
  }
})
