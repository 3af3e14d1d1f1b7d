#!/usr/bin/env node
// Builds the native addon from source, with napi-rs's CLI (a dev
// dependency: run `npm ci` in bindings-node first) and cargo (Rust on PATH).
// Not part of the npm package, which ships a prebuilt addon and never
// compiles anything when installed.
//
//   node build.js                 release addon into this directory
//                                 (aegis.<platform>.node), and index.js /
//                                 index.d.ts regenerated here: `npm run build`
//   node build.js --debug         cargo's dev profile instead (quicker to
//                                 build, slower calls)
//   node build.js --out DIR       everything into DIR instead (what
//                                 scripts/dist-node.sh does)
//
// A first release build compiles wasmtime: several minutes (see README);
// cargo prints its progress. The addon shares the workspace's target/ with
// the other front-ends (cargo-shim.js keeps napi's `--target` from making a
// second copy of every dependency).
'use strict'

const { spawnSync } = require('node:child_process')
const path = require('node:path')

/** `{ release, out }` from the command line; throws on anything else. */
function parseArgs(argv) {
  const options = { release: true, out: __dirname }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--debug') options.release = false
    else if (arg === '--release') options.release = true
    else if (arg === '--out' && i + 1 < argv.length) options.out = path.resolve(argv[++i])
    else throw new Error(`unknown argument ${JSON.stringify(arg)} (usage: node build.js [--debug] [--out DIR])`)
  }
  return options
}

/** The first `name` on PATH, as an absolute path. */
function onPath(name) {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  return found.status === 0 ? found.stdout.trim() : null
}

function main() {
  const { release, out } = parseArgs(process.argv.slice(2))
  const cargo = process.env.CARGO || onPath('cargo')
  if (!cargo) throw new Error('cargo is not on PATH: install Rust from https://rustup.rs')
  const manifest = require.resolve('@napi-rs/cli/package.json', { paths: [__dirname] })
  const cli = path.join(path.dirname(manifest), require(manifest).bin.napi)
  const args = [cli, 'build', '--platform', ...(release ? ['--release'] : []), '--output-dir', out]
  console.error(`aegis: napi build (${release ? 'release' : 'debug'}) into ${out}`)
  const napi = spawnSync(process.execPath, args, {
    cwd: __dirname,
    stdio: 'inherit',
    env: { ...process.env, CARGO: path.join(__dirname, 'cargo-shim.js'), AEGIS_REAL_CARGO: cargo },
  })
  if (napi.error) throw napi.error
  if (napi.status !== 0) throw new Error(`napi build failed with status ${napi.status}`)
}

if (require.main === module) {
  try {
    main()
  } catch (err) {
    console.error(`aegis: ${err.message}`)
    process.exit(1)
  }
}

module.exports = { parseArgs }
