'use strict'

// Runs the README's Node examples verbatim, with `require('aegis')`
// resolving as it does for a user: to the fresh install of
// scripts/test-node.sh (AEGIS_NODE_INSTALL), or else to this source
// directory (linked into a temporary node_modules).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { INSTALL_DIR } = require('./helpers')

const ROOT = path.join(__dirname, '..', '..')

/** The Node section of README.md. */
function nodeSection() {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const section = readme.match(/<!-- section:node -->([\s\S]*?)<!-- \/section:node -->/)
  assert.ok(section, 'README has a node section')
  return section[1]
}

/** The first ```js block of `text`. */
function jsBlock(text, what) {
  const block = text.match(/```js\n([\s\S]*?)```/)
  assert.ok(block, `${what} has a \`\`\`js example`)
  return block[1]
}

/**
 * Runs `source` as a CommonJS file in a new directory beside the installed
 * `node_modules/aegis` (or a link to this package), with `cwd` as the
 * working directory (default: that directory).
 */
function runExample(source, cwd) {
  const base = INSTALL_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-readme-'))
  const dir = fs.mkdtempSync(path.join(base, 'readme-'))
  try {
    if (!INSTALL_DIR) {
      fs.mkdirSync(path.join(base, 'node_modules'))
      fs.symlinkSync(path.resolve(__dirname, '..'), path.join(base, 'node_modules', 'aegis'), 'dir')
    }
    fs.writeFileSync(path.join(dir, 'example.cjs'), source)
    return spawnSync(process.execPath, [path.join(dir, 'example.cjs')], { cwd: cwd ?? dir, encoding: 'utf8', timeout: 60000 })
  } finally {
    fs.rmSync(INSTALL_DIR ? dir : base, { recursive: true, force: true })
  }
}

test('the README "Exchanging data" example runs as written, from the repository root', () => {
  const sub = nodeSection().split('### Exchanging data')
  assert.equal(sub.length, 2, 'the node section has one "### Exchanging data" subsection')
  const run = runExample(jsBlock(sub[1], 'Exchanging data'), ROOT)
  assert.equal(run.status, 0, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
  assert.equal(run.stdout, [
    'Hello, Node!',
    'func(name: string) -> string',
    "{ err: 'division by zero' }",
    'WIT',
    'QUIET',
    'guest says: hello',
    'from stdin',
    '',
  ].join('\n'))
})

test('the README example runs as written', () => {
  const run = runExample(jsBlock(nodeSection(), 'the node section'))
  assert.equal(run.status, 0, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
  assert.match(run.stdout, /guest says 7/)
  assert.match(run.stdout, /fuel used: \d+/)
  assert.match(run.stdout, /out of fuel/)
  assert.match(run.stdout, /metrics: /)
  assert.match(run.stdout, /AEGIS_INTERRUPTED TimeoutError/)
})
