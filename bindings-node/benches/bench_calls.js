// Call and host-callback overhead from Node: Aegis vs Node's built-in
// WebAssembly vs @extism/extism. Run by scripts/bench.sh:
//
//   node bench_calls.js <wasm-dir> [--quick]
//
// <wasm-dir> holds add.wasm, callback.wasm, extism_add.wasm and
// extism_callback.wasm (the same modules as bindings-python/benches/
// bench_calls.py, compiled from WAT by the script). Aegis is loaded from the
// release addon named by NAPI_RS_NATIVE_LIBRARY_PATH (index.js honours it),
// Extism from target/bench-node/node_modules. Prints one JSON object:
// {"call": {impl: ns}, "callback": {impl: ns}, "versions": {...}}, ns being
// the median time of one call, or of one guest→host call (1000 per call).
// Extism's rows are its cheapest calls: exports take no wasm arguments, so
// its `add` takes an empty input and returns 0.
'use strict'

const { readFileSync } = require('node:fs')
const { join, resolve } = require('node:path')

const CALLBACKS_PER_CALL = 1000
const dir = process.argv[2]
const quick = process.argv.includes('--quick')
const benchNode = resolve(__dirname, '../../target/bench-node')
const aegis = require('..')
const { medianNs, medianNsAsync, check } = require('./timing')
const extism = require(join(benchNode, 'node_modules/@extism/extism'))

const wasm = (name) => readFileSync(join(dir, `${name}.wasm`))

function aegisImpls() {
  const runtime = new aegis.Runtime()
  const sb = runtime.sandbox()
  sb.loadModule(runtime.loadBytes(wasm('add')))
  check(sb.call('add', 1, 2) === 3, 'aegis add')
  const cb = runtime.sandbox()
  cb.registerFunc('env', 'inc', (x) => x + 1, { params: ['i32'], results: ['i32'] })
  cb.loadModule(runtime.loadBytes(wasm('callback')))
  check(cb.call('loop', CALLBACKS_PER_CALL) === CALLBACKS_PER_CALL, 'aegis loop')
  return [() => sb.call('add', 1, 2), () => cb.call('loop', CALLBACKS_PER_CALL)]
}

function builtinImpls() {
  const add = new WebAssembly.Instance(new WebAssembly.Module(wasm('add'))).exports.add
  check(add(1, 2) === 3, 'WebAssembly add')
  const imports = { env: { inc: (x) => x + 1 } }
  const loop = new WebAssembly.Instance(new WebAssembly.Module(wasm('callback')), imports).exports.loop
  check(loop(CALLBACKS_PER_CALL) === CALLBACKS_PER_CALL, 'WebAssembly loop')
  return [() => add(1, 2), () => loop(CALLBACKS_PER_CALL)]
}

async function extismImpls() {
  const add = await extism.createPlugin({ wasm: [{ data: wasm('extism_add') }] }, { useWasi: false })
  let seen = 0
  const cb = await extism.createPlugin(
    { wasm: [{ data: wasm('extism_callback') }] },
    {
      useWasi: false,
      functions: { 'extism:host/user': { inc: (_plugin, x) => { seen++; return x + 1n } } },
    },
  )
  await add.call('add', '')
  await cb.call('loop', '')
  check(seen === CALLBACKS_PER_CALL, `extism host function ran ${seen} times`)
  return [() => add.call('add', ''), () => cb.call('loop', '')]
}

async function main() {
  const batches = quick ? 5 : 31
  const results = { call: {}, callback: {} }
  for (const [name, make] of [['aegis', aegisImpls], ['WebAssembly', builtinImpls]]) {
    const [call, callback] = make()
    results.call[name] = medianNs(call, 20000, batches)
    results.callback[name] = medianNs(callback, 50, batches, CALLBACKS_PER_CALL)
  }
  const [call, callback] = await extismImpls()
  results.call['@extism/extism'] = await medianNsAsync(call, 2000, batches)
  results.callback['@extism/extism'] = await medianNsAsync(callback, 20, batches, CALLBACKS_PER_CALL)
  results.versions = {
    node: process.versions.node,
    v8: process.versions.v8,
    '@extism/extism': require(join(benchNode, 'node_modules/@extism/extism/package.json')).version,
  }
  console.log(JSON.stringify(results))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
