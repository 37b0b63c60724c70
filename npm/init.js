// `lookcoin-state init`: adds the runbook's npm scripts to the host project's package.json.
// Thin I/O glue: read the file, add the scripts it lacks (existing ones are never touched),
// write it back atomically in npm's formatting (its indent, its line ends, a trailing newline).
'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

/** The runbook's npm scripts and the one lookcoin-state command each runs. */
const SCRIPTS = [
  ['emergency:rollback-to-leveldb', 'lookcoin-state rollback'],
  ['emergency:validate-rollback', 'lookcoin-state rollback-validate'],
  ['state:validate', 'lookcoin-state validate'],
  ['backup:create', 'lookcoin-state backup create'],
  ['backup:verify', 'lookcoin-state backup verify --newest'],
  ['backup:assess-quality', 'lookcoin-state backup assess --newest'],
  ['count:contracts', 'lookcoin-state count'],
  ['validate:cross-network', 'lookcoin-state validate --backend unified-json'],
  ['migration:leveldb-to-unified', 'lookcoin-state migrate leveldb-to-unified'],
  ['migration:json-to-leveldb', 'lookcoin-state migrate json-to-leveldb'],
  ['migration:export-leveldb', 'lookcoin-state export --backend leveldb --out leveldb-export.json'],
  ['generate:rollback-validation-report', 'lookcoin-state report rollback'],
  ['benchmark:post-rollback', 'lookcoin-state bench'],
]

/** A refusal with the exit code it maps to (1 refused safely, 2 bad input, 3 busy). */
class InitError extends Error {
  constructor(message, exitCode) {
    super(message)
    this.exitCode = exitCode
  }
}

/** npm's formatting of a JSON file: indent and line end as found, trailing newline. */
function formatOf(text) {
  const indent = /^[{[]\r?\n([ \t]+)\S/.exec(text)?.[1] ?? '  '
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  return { indent, eol }
}

function stringify(doc, { indent, eol }) {
  const json = JSON.stringify(doc, null, indent)
  return `${eol === '\n' ? json : json.replace(/\n/g, eol)}${eol}`
}

/**
 * Adds the missing runbook scripts to `<root>/package.json`.
 * Returns { packageJson, dryRun, written, added: [{ name, command }], kept: [{ name, command, ours, same }] }.
 */
function initScripts(root, { dryRun = false } = {}) {
  const file = path.join(root, 'package.json')
  let text
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    if (e.code === 'ENOENT') throw new InitError(`no package.json in ${root} (create one with npm init -y, or give --root)`, 1)
    throw e
  }
  let doc
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new InitError(`${file} is not valid JSON: ${e.message}`, 2)
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new InitError(`${file} does not hold a JSON object`, 2)
  const scripts = doc.scripts ?? {}
  if (scripts === null || typeof scripts !== 'object' || Array.isArray(scripts)) {
    throw new InitError(`"scripts" in ${file} is not an object`, 2)
  }

  const added = []
  const kept = []
  for (const [name, command] of SCRIPTS) {
    if (Object.hasOwn(scripts, name)) kept.push({ name, command: scripts[name], ours: command, same: scripts[name] === command })
    else added.push({ name, command })
  }
  const result = { packageJson: file, dryRun, written: false, added, kept }
  if (dryRun || added.length === 0) return result

  const next = { ...scripts }
  for (const { name, command } of added) next[name] = command
  doc.scripts = next // an existing "scripts" keeps its place; a new one goes last
  writeAtomically(file, stringify(doc, formatOf(text)), text)
  result.written = true
  return result
}

/** Temp file in the same folder, fsync, rename over the file (refusing if it changed meanwhile), fsync the folder. */
function writeAtomically(file, content, expected) {
  const dir = path.dirname(file)
  const tmp = path.join(dir, `.${path.basename(file)}.lookcoin-state-${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`)
  const { mode } = fs.statSync(file)
  const fd = fs.openSync(tmp, 'wx', mode & 0o777)
  try {
    fs.writeFileSync(fd, content)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  try {
    if (fs.readFileSync(file, 'utf8') !== expected) {
      throw new InitError(`${file} changed while init ran; nothing written, run it again`, 3)
    }
    fs.renameSync(tmp, file)
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw e
  }
  const dirFd = fs.openSync(dir, 'r')
  try {
    fs.fsyncSync(dirFd)
  } finally {
    fs.closeSync(dirFd)
  }
}

module.exports = { SCRIPTS, InitError, initScripts, writeAtomically, formatOf, stringify }
