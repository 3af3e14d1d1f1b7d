#!/usr/bin/env node
// Lays out the two npm packages of napi-rs's per-platform layout, ready for
// `npm pack` (run by scripts/dist-node.sh):
//
//   <stage>/main/            aegis-wasm-sandbox: index.js, index.d.ts,
//                            README.md, licences; the platform package as
//                            an optional dependency at the same version. No
//                            install script and no Rust sources: installing
//                            never compiles anything.
//   <stage>/linux-x64-gnu/   aegis-wasm-sandbox-linux-x64-gnu: the release
//                            addon, with os/cpu/libc so npm installs it only
//                            where it runs.
//
// Usage: node stage.js <dir with the built addon> <stage dir>
// index.js and index.d.ts are the committed ones (dist-node.sh checks that
// napi generated the same).
'use strict'

const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const SOURCE = require('./package.json')

/** The platforms this package is built for, as napi names them. */
const PLATFORMS = {
  'linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
}

/** The licence files (npm packs only `LICENSE`/`LICENCE` on its own). */
const LICENCES = ['LICENSE-MIT', 'LICENSE-APACHE']

/** Fields every staged package.json shares with the source one. */
function common() {
  return {
    version: SOURCE.version,
    license: SOURCE.license,
    engines: SOURCE.engines,
    ...(SOURCE.repository ? { repository: SOURCE.repository } : {}),
  }
}

/** The name of the platform package for `suffix` (`linux-x64-gnu`). */
function platformPackage(suffix) {
  return `${SOURCE.name}-${suffix}`
}

/** The main package's package.json: no scripts, no dev dependencies. */
function mainManifest() {
  return {
    name: SOURCE.name,
    description: SOURCE.description,
    ...common(),
    main: SOURCE.main,
    types: SOURCE.types,
    files: [...SOURCE.files, ...LICENCES],
    dependencies: SOURCE.dependencies,
    optionalDependencies: Object.fromEntries(
      Object.keys(PLATFORMS).map((suffix) => [platformPackage(suffix), SOURCE.version]),
    ),
  }
}

/** The platform package's package.json for `suffix`. */
function platformManifest(suffix) {
  const binary = `${SOURCE.napi.binaryName}.${suffix}.node`
  return {
    name: platformPackage(suffix),
    description: `The ${suffix} native addon of ${SOURCE.name} (installed by it; not used directly).`,
    ...common(),
    ...PLATFORMS[suffix],
    main: binary,
    files: [binary, ...LICENCES],
  }
}

/** Writes `manifest` and the licences into a new `dir`, with `readme`. */
function layOut(dir, manifest, readme) {
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  fs.writeFileSync(path.join(dir, 'README.md'), readme)
  for (const licence of LICENCES) {
    fs.copyFileSync(path.join(ROOT, licence), path.join(dir, licence))
  }
}

function main() {
  const [built, stage] = process.argv.slice(2).map((p) => p && path.resolve(p))
  if (!built || !stage) throw new Error('usage: node stage.js <dir with the built addon> <stage dir>')
  const readme = fs.readFileSync(path.join(__dirname, 'README.md'), 'utf8')

  const main = path.join(stage, 'main')
  layOut(main, mainManifest(), readme)
  for (const file of SOURCE.files) fs.copyFileSync(path.join(__dirname, file), path.join(main, file))

  for (const suffix of Object.keys(PLATFORMS)) {
    const manifest = platformManifest(suffix)
    const dir = path.join(stage, suffix)
    layOut(dir, manifest, `# ${manifest.name}\n\n${manifest.description}\n`)
    fs.copyFileSync(path.join(built, manifest.main), path.join(dir, manifest.main))
  }
  console.error(`aegis: staged ${SOURCE.name} and its platform packages in ${stage}`)
}

if (require.main === module) {
  try {
    main()
  } catch (err) {
    console.error(`aegis: ${err.message}`)
    process.exit(1)
  }
}

module.exports = { mainManifest, platformManifest }
