#!/usr/bin/env node
// The `cargo` that build.js gives `napi build` (through napi's CARGO
// variable). napi always passes `--target <triple>`, and cargo then builds
// into target/<triple>/ with a second copy of every dependency: wasmtime
// would compile once for the Node addon and once more for everything else
// (the C library, the Python wheel, the CLI), at several minutes and
// gigabytes each. This drops `--target` when it names the host, so the
// addon shares target/<profile>/ with the other front-ends, then links the
// built library to where napi looks for it (target/<triple>/<profile>/).
// Cargo's progress goes to stderr as usual. Any other `--target` is kept.
'use strict'

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

/** The cargo to run: the one build.js found, else the first on PATH. */
const CARGO = process.env.AEGIS_REAL_CARGO || 'cargo'

/** The host's target triple, from `rustc -vV` (the toolchain cargo uses). */
function hostTriple() {
  const rustc = spawnSync(process.env.RUSTC || 'rustc', ['-vV'], { encoding: 'utf8' })
  const line = (rustc.stdout || '').split('\n').find((l) => l.startsWith('host: '))
  return line ? line.slice('host: '.length).trim() : null
}

/** `args` without `--target <host>` (or `--target=<host>`), and the triple dropped. */
function withoutHostTarget(args, host) {
  const out = []
  let dropped = null
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--target' && args[i + 1] === host) {
      dropped = host
      i++
    } else if (arg === `--target=${host}`) {
      dropped = host
    } else {
      out.push(arg)
    }
  }
  return { args: out, dropped }
}

/**
 * Links each library cargo built (`<dir>/<profile>/<file>`) to
 * `<dir>/<triple>/<profile>/<file>`, where a `--target` build leaves it.
 */
function linkArtifacts(stdout, triple) {
  const messages = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
  for (const m of messages) {
    if (m.reason !== 'compiler-artifact' || !m.target?.crate_types?.includes('cdylib')) continue
    for (const file of m.filenames.filter((f) => /\.(so|dylib|dll)$/.test(f))) {
      const profileDir = path.dirname(file)
      const dest = path.join(path.dirname(profileDir), triple, path.basename(profileDir), path.basename(file))
      fs.mkdirSync(path.dirname(dest), { recursive: true })
      fs.rmSync(dest, { force: true })
      fs.symlinkSync(file, dest)
    }
  }
}

function main() {
  const argv = process.argv.slice(2)
  const host = argv[0] === 'build' ? hostTriple() : null
  const { args, dropped } = host ? withoutHostTarget(argv, host) : { args: argv, dropped: null }
  if (!dropped) {
    const run = spawnSync(CARGO, argv, { stdio: 'inherit' })
    return run.status ?? 1
  }
  const run = spawnSync(CARGO, [...args, '--message-format=json-render-diagnostics'], {
    stdio: ['inherit', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  })
  if (run.error) {
    console.error(`cannot run ${CARGO}: ${run.error.message}`)
    return 1
  }
  if (run.status === 0) linkArtifacts(run.stdout, dropped)
  return run.status ?? 1
}

if (require.main === module) process.exit(main())

module.exports = { withoutHostTarget }
