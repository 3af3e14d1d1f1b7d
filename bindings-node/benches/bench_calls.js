// Call and host-callback overhead from Node: Aegis vs Node's built-in
// WebAssembly vs @extism/extism. Run by scripts/bench.sh:
//
//   node bench_calls.js <wasm-dir> [--quick]
//   node bench_calls.js <wasm-dir> --profile <row> <seconds>
//
// <wasm-dir> holds add.wasm, callback.wasm, extism_add.wasm and
// extism_callback.wasm (the same modules as bindings-python/benches/
// bench_calls.py, compiled from WAT by the script). Aegis is loaded from the
// release addon named by NAPI_RS_NATIVE_LIBRARY_PATH (index.js honours it),
// Extism from target/bench-node/node_modules. Prints one JSON object:
// {"call": {impl: ns}, "callback": {impl: ns}, "call_cpu": {impl: ns},
// "callback_cpu": {impl: ns}, "versions": {...}}, ns being the median time of
// one call, or of one guest→host call (1000 per call): wall-clock time, and
// (`*_cpu`) the process's CPU time, which other processes on the machine do
// not stretch. Aegis has two call rows: `aegis` is `sandbox.call('add', 1,
// 2)`, `aegis func` the same call through a function bound once
// (`sandbox.func('add')`). Extism's rows are its cheapest calls: exports take
// no wasm arguments, so its `add` takes an empty input and returns 0.
//
// `--profile <row>` runs one Aegis row (`call`, `func` or `callback`) for
// about <seconds> and prints nothing: the workload of scripts/perf-node.sh.
'use strict'

const { readFileSync } = require('node:fs')
const { join, resolve } = require('node:path')

const CALLBACKS_PER_CALL = 1000
const dir = process.argv[2]
const quick = process.argv.includes('--quick')
const benchNode = resolve(__dirname, '../../target/bench-node')
const aegis = require('..')
const { medians, mediansAsync, check } = require('./timing')

const wasm = (name) => readFileSync(join(dir, `${name}.wasm`))

/** Aegis's rows: one function each, doing one call. */
function aegisRows() {
  const runtime = new aegis.Runtime()
  const sb = runtime.sandbox()
  sb.loadModule(runtime.loadBytes(wasm('add')))
  check(sb.call('add', 1, 2) === 3, 'aegis add')
  const add = sb.func('add')
  check(add(1, 2) === 3, 'aegis func add')
  const cb = runtime.sandbox()
  cb.registerFunc('env', 'inc', (x) => x + 1, { params: ['i32'], results: ['i32'] })
  cb.loadModule(runtime.loadBytes(wasm('callback')))
  check(cb.call('loop', CALLBACKS_PER_CALL) === CALLBACKS_PER_CALL, 'aegis loop')
  return {
    call: () => sb.call('add', 1, 2),
    func: () => add(1, 2),
    callback: () => cb.call('loop', CALLBACKS_PER_CALL),
  }
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
  const extism = require(join(benchNode, 'node_modules/@extism/extism'))
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

/** Runs one Aegis row for about `seconds` (for a profiler). */
function profile(row, seconds) {
  const fn = aegisRows()[row]
  check(fn !== undefined, `--profile takes call, func or callback, not ${row}`)
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9))
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 1000; i++) fn()
  }
}

async function main() {
  const at = process.argv.indexOf('--profile')
  if (at >= 0) return profile(process.argv[at + 1], Number(process.argv[at + 2] ?? 5))
  const batches = quick ? 5 : 31
  const results = { call: {}, callback: {}, call_cpu: {}, callback_cpu: {} }
  const record = (kind, name, { wall, cpu }) => {
    results[kind][name] = wall
    results[`${kind}_cpu`][name] = cpu
  }
  const rows = aegisRows()
  record('call', 'aegis', medians(rows.call, 20000, batches))
  record('call', 'aegis func', medians(rows.func, 20000, batches))
  record('callback', 'aegis', medians(rows.callback, 50, batches, CALLBACKS_PER_CALL))
  const [call, callback] = builtinImpls()
  record('call', 'WebAssembly', medians(call, 20000, batches))
  record('callback', 'WebAssembly', medians(callback, 50, batches, CALLBACKS_PER_CALL))
  const [extismCall, extismCallback] = await extismImpls()
  record('call', '@extism/extism', await mediansAsync(extismCall, 2000, batches))
  record('callback', '@extism/extism', await mediansAsync(extismCallback, 20, batches, CALLBACKS_PER_CALL))
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
