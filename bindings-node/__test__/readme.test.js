'use strict'

// Runs the README's Node example verbatim, with `require('aegis')` resolving
// to this package as it does after `npm install ./bindings-node`.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

function readmeExample() {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8')
  const section = readme.match(/<!-- section:node -->([\s\S]*?)<!-- \/section:node -->/)
  assert.ok(section, 'README has a node section')
  const block = section[1].match(/```js\n([\s\S]*?)```/)
  assert.ok(block, 'the node section has a ```js example')
  return block[1]
}

test('the README example runs as written', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-readme-'))
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(path.resolve(__dirname, '..'), path.join(dir, 'node_modules', 'aegis'), 'dir')
  fs.writeFileSync(path.join(dir, 'example.cjs'), readmeExample())
  const run = spawnSync(process.execPath, ['example.cjs'], { cwd: dir, encoding: 'utf8', timeout: 60000 })
  assert.equal(run.status, 0, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
  assert.match(run.stdout, /guest says 7/)
  assert.match(run.stdout, /fuel used: \d+/)
  assert.match(run.stdout, /out of fuel/)
  assert.match(run.stdout, /metrics: /)
  assert.match(run.stdout, /AEGIS_INTERRUPTED TimeoutError/)
})
