'use strict'

// build.js, the install script: which cargo profile `npm install` builds.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { buildsRelease } = require('../build.js')

test('npm install builds a release addon unless AEGIS_NODE_PROFILE=debug asks for debug', () => {
  assert.equal(buildsRelease(undefined), true, 'the default')
  assert.equal(buildsRelease(''), true)
  assert.equal(buildsRelease('release'), true)
  assert.equal(buildsRelease('debug'), false)
  for (const typo of ['Debug', 'dev', 'relase']) {
    assert.throws(() => buildsRelease(typo), /AEGIS_NODE_PROFILE must be 'release' or 'debug'/)
  }
})
