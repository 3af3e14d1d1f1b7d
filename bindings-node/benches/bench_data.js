// Data round trips from Node: Aegis vs @extism/extism (bytes) and Aegis's
// component calls (no Node peer can call a component).
//
//   node bench_data.js <wasm-dir> [--quick]
//
// Run from anywhere after scripts/build-guests.sh; <wasm-dir> holds
// extism_echo.wasm, tests/guests/bench/extism_echo.wat compiled (scripts/bench.sh
// compiles the benchmark WATs into target/bench/wasm). Aegis is loaded from
// the release addon named by NAPI_RS_NATIVE_LIBRARY_PATH (index.js honours
// it), Extism from target/bench-node/node_modules, as for bench_calls.js.
// Prints one JSON object:
//
//   {"bytes": {"1KiB": {impl: ns}, "1MiB": {impl: ns}},
//    "component": {"1KiB": {impl: ns}, "1MiB": {impl: ns}},
//    "notes": {...}, "versions": {...}}
//
// ns being the median time of one round trip (the payload in, the same
// payload back, checked equal before timing) over timed batches.
//
// - bytes: `sandbox.callBytes('echo', payload)` on target/guests/out/bytes-rust.wasm
//   (examples/guest-rust, which returns its input buffer); `callBytesAsync`
//   (the guest on a worker thread); `plugin.call('echo', payload)` of
//   @extism/extism on extism_echo.wasm (copies its input to its output
//   through the Extism kernel, as a PDK does; `plugin.reset()` after each
//   call, without which the SDK runs out of block addresses after 32768
//   blocks); and, as the floor, Node's
//   built-in WebAssembly running the same bytes-rust.wasm with the bytes
//   convention done in JS (alloc, copy in, call, copy out, free: no sandbox,
//   no limits).
// - component: `sandbox.call('echo-string', text)` on target/guests/out/values.wasm
//   (and `callAsync`). Node has no component runtime to compare with; the
//   `WebAssembly (core, callStr-like)` row is the built-in WebAssembly doing
//   the same string round trip through bytes-rust.wasm's `echo`
//   (TextEncoder in, TextDecoder out) for scale.
'use strict'

const { existsSync, readFileSync } = require('node:fs')
const { join, resolve } = require('node:path')

const ROOT = resolve(__dirname, '..', '..')
const GUESTS = join(ROOT, 'target', 'guests', 'out')
const dir = process.argv[2]
const quick = process.argv.includes('--quick')
const benchNode = join(ROOT, 'target', 'bench-node')
const aegis = require('..')
const { medianNs, medianNsAsync, check } = require('./timing')
const extism = require(join(benchNode, 'node_modules/@extism/extism'))

const SIZES = { '1KiB': 1 << 10, '1MiB': 1 << 20 }
/** Round trips per timed batch, by payload size. */
const PER_BATCH = { '1KiB': 2000, '1MiB': 20 }

/** A payload of `size` bytes (printable, so it is also valid UTF-8 text). */
function payload(size) {
  const bytes = Buffer.alloc(size)
  for (let i = 0; i < size; i++) bytes[i] = 97 + (i % 26)
  return bytes
}

/** bytes-rust.wasm on Node's built-in WebAssembly, the bytes convention in JS. */
function builtinBytes() {
  const module = new WebAssembly.Module(readFileSync(join(GUESTS, 'bytes-rust.wasm')))
  // WASI is only reached if the guest panics: refuse it.
  const refuse = () => { throw new Error('WASI is not provided here') }
  const imports = { wasi_snapshot_preview1: { environ_get: refuse, environ_sizes_get: refuse, fd_write: refuse, proc_exit: refuse } }
  const { memory, aegis_alloc: alloc, aegis_free: free, echo } = new WebAssembly.Instance(module, imports).exports
  return (input) => {
    const ptr = alloc(input.length)
    new Uint8Array(memory.buffer, ptr, input.length).set(input)
    const packed = echo(ptr, input.length)
    const outPtr = Number(BigInt.asUintN(64, packed) >> 32n)
    const outLen = Number(BigInt.asUintN(32, packed))
    const output = Buffer.from(new Uint8Array(memory.buffer, outPtr, outLen)) // a copy
    if (outLen > 0) free(outPtr, outLen)
    return output
  }
}

async function bytesRows(batches, notes) {
  const rows = {}
  const runtime = new aegis.Runtime({ resultLimit: '16MiB' })
  const sandbox = runtime.sandbox()
  sandbox.loadModule(runtime.loadFile(join(GUESTS, 'bytes-rust.wasm')))
  const builtin = builtinBytes()
  const extismWasm = dir && join(dir, 'extism_echo.wasm')
  let plugin
  if (extismWasm && existsSync(extismWasm)) {
    plugin = await extism.createPlugin({ wasm: [{ data: readFileSync(extismWasm) }] }, { useWasi: false })
  } else {
    notes['@extism/extism'] = `no ${extismWasm ?? '<wasm-dir>/extism_echo.wasm'}: compile tests/guests/bench/extism_echo.wat into the wasm dir`
  }
  for (const [label, size] of Object.entries(SIZES)) {
    const data = payload(size)
    const row = {}
    check(sandbox.callBytes('echo', data).equals(data), `aegis echo ${label}`)
    row.aegis = medianNs(() => sandbox.callBytes('echo', data), PER_BATCH[label], batches)
    check((await sandbox.callBytesAsync('echo', data)).equals(data), `aegis async echo ${label}`)
    row['aegis (callBytesAsync)'] = await medianNsAsync(() => sandbox.callBytesAsync('echo', data), PER_BATCH[label], batches)
    if (plugin) {
      const out = await plugin.call('echo', data)
      check(out !== null && Buffer.from(out.bytes()).equals(data), `extism echo ${label}`)
      // The output block is already a JS ArrayBuffer of its own (`bytes()`
      // views it). The SDK keeps every block of a plugin until `reset()`
      // (after 32768 of them its block addresses overflow), so each round
      // trip resets, as Extism's other SDKs do at the start of each call.
      await plugin.reset()
      row['@extism/extism'] = await medianNsAsync(async () => {
        const out = (await plugin.call('echo', data)).bytes()
        await plugin.reset()
        return out
      }, PER_BATCH[label], batches)
    }
    check(builtin(data).equals(data), `WebAssembly echo ${label}`)
    row['WebAssembly (no sandbox)'] = medianNs(() => builtin(data), PER_BATCH[label], batches)
    rows[label] = row
  }
  if (plugin) await plugin.close()
  return rows
}

async function componentRows(batches, notes) {
  const rows = {}
  const runtime = new aegis.Runtime({ resultLimit: '16MiB' })
  const sandbox = runtime.sandbox()
  sandbox.loadModule(runtime.loadFile(join(GUESTS, 'values.wasm')))
  const builtin = builtinBytes()
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  for (const [label, size] of Object.entries(SIZES)) {
    const text = payload(size).toString('latin1')
    const row = {}
    check(sandbox.call('echo-string', text) === text, `aegis echo-string ${label}`)
    row.aegis = medianNs(() => sandbox.call('echo-string', text), PER_BATCH[label], batches)
    check((await sandbox.callAsync('echo-string', text)) === text, `aegis async echo-string ${label}`)
    row['aegis (callAsync)'] = await medianNsAsync(() => sandbox.callAsync('echo-string', text), PER_BATCH[label], batches)
    const strEcho = () => decoder.decode(builtin(encoder.encode(text)))
    check(strEcho() === text, `WebAssembly string echo ${label}`)
    row['WebAssembly (core, callStr-like)'] = medianNs(strEcho, PER_BATCH[label], batches)
    rows[label] = row
  }
  notes.component = 'no Node peer calls components; the WebAssembly row is a core-module string echo on the built-in engine, for scale'
  return rows
}

async function main() {
  const batches = quick ? 5 : 31
  const notes = {}
  const results = {
    bytes: await bytesRows(batches, notes),
    component: await componentRows(batches, notes),
    notes,
    versions: {
      node: process.versions.node,
      v8: process.versions.v8,
      '@extism/extism': require(join(benchNode, 'node_modules/@extism/extism/package.json')).version,
      aegis_addon: process.env.NAPI_RS_NATIVE_LIBRARY_PATH ?? 'bindings-node (as built)',
    },
  }
  console.log(JSON.stringify(results))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
