'use strict'

// The build from source (build.js, cargo-shim.js): its command line, and
// that napi's `--target <host>` never reaches cargo (a second target
// directory would compile wasmtime a second time).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { parseArgs } = require('../build.js')
const { withoutHostTarget } = require('../cargo-shim.js')

test('build.js builds release by default, debug on request, into a chosen directory', () => {
  assert.deepEqual(parseArgs([]), { release: true, out: path.join(__dirname, '..') })
  assert.deepEqual(parseArgs(['--debug']), { release: false, out: path.join(__dirname, '..') })
  assert.deepEqual(parseArgs(['--out', 'x']), { release: true, out: path.resolve('x') })
  for (const bad of [['--relase'], ['--out'], ['dev']]) {
    assert.throws(() => parseArgs(bad), /unknown argument/)
  }
})

test('the cargo shim drops only a --target naming the host', () => {
  const host = 'x86_64-unknown-linux-gnu'
  assert.deepEqual(withoutHostTarget(['build', '--target', host, '--release'], host), {
    args: ['build', '--release'],
    dropped: host,
  })
  assert.deepEqual(withoutHostTarget(['build', `--target=${host}`], host), { args: ['build'], dropped: host })
  const other = ['build', '--target', 'aarch64-unknown-linux-gnu']
  assert.deepEqual(withoutHostTarget(other, host), { args: other, dropped: null })
  assert.deepEqual(withoutHostTarget(['build'], host), { args: ['build'], dropped: null })
})
