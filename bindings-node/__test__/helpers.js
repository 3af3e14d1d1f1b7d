// Shared guests and helpers for the Node test suite (not a test file itself).
//
// The package under test: `require('aegis')` as resolved from the fresh
// install of scripts/test-node.sh (AEGIS_NODE_INSTALL, the directory whose
// node_modules has the packed tarballs installed), or else this source
// directory (after `npm run build`, for working on the binding).
'use strict'

const assert = require('node:assert/strict')
const path = require('node:path')

/** The fresh install directory the suite tests, if any. */
const INSTALL_DIR = process.env.AEGIS_NODE_INSTALL || null

/** The directory of the package under test (index.js, index.d.ts). */
const PACKAGE_DIR = INSTALL_DIR
  ? path.dirname(require.resolve('aegis/package.json', { paths: [INSTALL_DIR] }))
  : path.join(__dirname, '..')

const aegis = require(PACKAGE_DIR)

/** A guest exercising every value type, multi-value results, traps and loops. */
const CALC_WAT = `(module
  (memory (export "memory") 1)
  (global $counter (mut i32) (i32.const 0))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "add64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "half32") (param f32) (result f32) (f32.div (local.get 0) (f32.const 2)))
  (func (export "half64") (param f64) (result f64) (f64.div (local.get 0) (f64.const 2)))
  (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "bump") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))
  (func (export "nothing"))
  (func (export "spin") (loop $l (br $l)))
  (func (export "boom") unreachable)
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $recurse (export "recurse") (param i32) (result i32)
    (call $recurse (i32.add (local.get 0) (i32.const 1))))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
)`

/** Asserts `fn` throws (or `promise` rejects with) an Aegis error of `code`; returns it. */
function expectCode(fn, code) {
  let caught
  try {
    fn()
  } catch (err) {
    caught = err
  }
  assert.ok(caught, `expected ${code}, nothing was thrown`)
  assert.ok(caught instanceof Error, 'an Error instance')
  assert.equal(caught.code, code, `code of: ${caught.message}`)
  return caught
}

/** Async form of `expectCode`. */
async function expectRejects(promise, code) {
  let caught
  try {
    await promise
  } catch (err) {
    caught = err
  }
  assert.ok(caught, `expected ${code}, the promise resolved`)
  assert.ok(caught instanceof Error, 'an Error instance')
  assert.equal(caught.code, code, `code of: ${caught.message}`)
  return caught
}

/** A runtime and a sandbox with `wat` loaded. */
function loaded(wat = CALC_WAT, runtimeOptions = {}, sandboxOptions = undefined) {
  const runtime = new aegis.Runtime(runtimeOptions)
  const module = runtime.loadWat(wat)
  const sandbox = runtime.sandbox(sandboxOptions)
  sandbox.loadModule(module)
  return { runtime, module, sandbox }
}

module.exports = { aegis, INSTALL_DIR, PACKAGE_DIR, CALC_WAT, expectCode, expectRejects, loaded }
