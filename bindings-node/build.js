#!/usr/bin/env node
// Install script: compiles the native addon with cargo and puts it where
// index.js looks for it (aegis.<platform>.node). Needs Rust (rustup) on PATH.
//
//   AEGIS_NODE_PROFILE=release  (the default) build optimized: the addon users
//                                run and the benchmarks measure
//   AEGIS_NODE_PROFILE=debug    build in cargo's dev profile instead: quicker to
//                                build, slower calls (wasmtime and the other
//                                dependencies are still optimized); the test
//                                command uses it
//   AEGIS_NODE_SKIP_BUILD=1     do nothing (the addon is built another way)
'use strict'

const { spawnSync } = require('node:child_process')
const { copyFileSync } = require('node:fs')
const { join } = require('node:path')

/** The platform suffix napi's generated index.js loads, e.g. `linux-x64-gnu`. */
function platformSuffix() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const glibc = process.report?.getReport()?.header?.glibcVersionRuntime
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

/** Whether `AEGIS_NODE_PROFILE` asks for a release build (unset: yes). */
function buildsRelease(profile) {
  if (profile === undefined || profile === '' || profile === 'release') return true
  if (profile === 'debug') return false
  throw new Error(`AEGIS_NODE_PROFILE must be 'release' or 'debug', not '${profile}'`)
}

function main() {
  if (process.env.AEGIS_NODE_SKIP_BUILD === '1') return
  const release = buildsRelease(process.env.AEGIS_NODE_PROFILE)
  const args = [
    'build',
    '--manifest-path', join(__dirname, 'Cargo.toml'),
    '--message-format=json-render-diagnostics',
    ...(release ? ['--release'] : []),
  ]
  const cargo = spawnSync('cargo', args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  if (cargo.error) {
    throw new Error(`cannot run cargo (install Rust from https://rustup.rs): ${cargo.error.message}`)
  }
  if (cargo.status !== 0) throw new Error(`cargo build failed with status ${cargo.status}`)
  const library = cargo.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .filter((m) => m.reason === 'compiler-artifact' && m.target?.name === 'aegis_node')
    .flatMap((m) => m.filenames)
    .find((f) => /\.(so|dylib|dll)$/.test(f))
  if (!library) throw new Error('cargo did not report the aegis_node library')
  const dest = join(__dirname, `aegis.${platformSuffix()}.node`)
  copyFileSync(library, dest)
  console.log(`aegis: built ${dest} (${release ? 'release' : 'debug'})`)
}

if (require.main === module) {
  try {
    main()
  } catch (err) {
    console.error(`aegis: ${err.message}`)
    process.exit(1)
  }
}

module.exports = { buildsRelease }
