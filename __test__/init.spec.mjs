// `lookcoin-state init`: the runbook's npm scripts added to a host package.json, existing ones
// never touched, npm's formatting kept, the file replaced atomically; --dry-run and --json.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { describe, test } from 'node:test'

import { assertExit, repoRoot, runCli, tmpDir } from './helpers.mjs'

const { SCRIPTS, writeAtomically } = createRequire(import.meta.url)(path.join(repoRoot, 'npm', 'init.js'))
const RUNBOOK_SCRIPTS = [
  'emergency:rollback-to-leveldb', 'emergency:validate-rollback', 'state:validate', 'backup:create', 'backup:verify',
  'backup:assess-quality', 'count:contracts', 'validate:cross-network', 'migration:leveldb-to-unified',
  'migration:json-to-leveldb', 'migration:export-leveldb', 'generate:rollback-validation-report', 'benchmark:post-rollback',
]

/** A host project whose package.json is `doc` written as `text` (default: npm's 2-space JSON + newline). */
function host(t, doc, text = `${JSON.stringify(doc, null, 2)}\n`) {
  const root = tmpDir(t, 'lcs-init-')
  fs.writeFileSync(path.join(root, 'package.json'), text)
  return root
}

const npmInitDoc = () => ({
  name: 'lookcoin-contract',
  version: '1.0.0',
  description: '',
  main: 'index.js',
  scripts: { test: 'echo "Error: no test specified" && exit 1', 'state:validate': 'hardhat run scripts/validate.ts' },
  keywords: [],
  license: 'ISC',
})

describe('init', () => {
  test('the scripts are the runbook\'s thirteen, each one lookcoin-state command', () => {
    assert.deepEqual(SCRIPTS.map(([name]) => name), RUNBOOK_SCRIPTS)
    for (const [name, command] of SCRIPTS) assert.match(command, /^lookcoin-state [a-z]/, name)
    const map = Object.fromEntries(SCRIPTS)
    assert.equal(map['emergency:rollback-to-leveldb'], 'lookcoin-state rollback')
    assert.equal(map['emergency:validate-rollback'], 'lookcoin-state rollback-validate')
    assert.equal(map['backup:verify'], 'lookcoin-state backup verify --newest')
    assert.equal(map['validate:cross-network'], 'lookcoin-state validate --backend unified-json')
  })

  test('--dry-run lists the 12 it would add and the one it keeps, writes nothing; --json is one document', async (t) => {
    const root = host(t, npmInitDoc())
    const file = path.join(root, 'package.json')
    const before = fs.readFileSync(file)
    const res = assertExit(await runCli(['init', '--dry-run', '--root', root]), 0, 'init --dry-run')
    assert.match(res.stdout, /would add emergency:rollback-to-leveldb\s+lookcoin-state rollback$/m)
    assert.match(res.stdout, /kept\s+state:validate\s+yours: hardhat run scripts\/validate\.ts \(ours: lookcoin-state validate\)/)
    assert.match(res.stdout, /Dry run: package\.json not written \(12 to add, 1 already there/)
    const json = assertExit(await runCli(['init', '--dry-run', '--json', '--root', root]), 0, 'init --dry-run --json')
    const doc = JSON.parse(json.stdout)
    assert.equal(doc.dryRun, true)
    assert.equal(doc.written, false)
    assert.equal(doc.added.length, 12)
    assert.deepEqual(doc.kept, [{ name: 'state:validate', command: 'hardhat run scripts/validate.ts', ours: 'lookcoin-state validate', same: false }])
    assert.deepEqual(fs.readFileSync(file), before, 'a dry run wrote package.json')
    assert.deepEqual(fs.readdirSync(root), ['package.json'])
  })

  test('adds the missing scripts after the existing ones, keeps every other byte as npm writes it; a second run writes nothing', async (t) => {
    const original = npmInitDoc()
    const root = host(t, original)
    const file = path.join(root, 'package.json')
    fs.chmodSync(file, 0o640)
    const inodeBefore = fs.statSync(file).ino
    const res = assertExit(await runCli(['init', '--root', root]), 0, 'init')
    assert.match(res.stdout, /✅ 12 script\(s\) added, 1 already there and left as they were/)
    assert.match(res.stdout, /^Next: npm run emergency:rollback-to-leveldb -- --dry-run$/m)

    const expected = structuredClone(original)
    for (const [name, command] of SCRIPTS) expected.scripts[name] ??= command
    const text = fs.readFileSync(file, 'utf8')
    assert.equal(text, `${JSON.stringify(expected, null, 2)}\n`, 'not npm\'s formatting, or keys moved')
    assert.deepEqual(Object.keys(JSON.parse(text)), Object.keys(original), 'top-level key order changed')
    assert.equal(JSON.parse(text).scripts['state:validate'], 'hardhat run scripts/validate.ts', 'an existing script was touched')
    const st = fs.statSync(file)
    assert.notEqual(st.ino, inodeBefore, 'not replaced by a rename')
    assert.equal(st.mode & 0o777, 0o640, 'file mode not kept')
    assert.deepEqual(fs.readdirSync(root), ['package.json'], 'a temp file was left behind')

    const again = assertExit(await runCli(['init', '--json', '--root', root]), 0, 'init again')
    const doc = JSON.parse(again.stdout)
    assert.equal(doc.written, false)
    assert.deepEqual(doc.added, [])
    assert.equal(doc.kept.filter((k) => k.same).length, 12)
    assert.equal(fs.statSync(file).ino, st.ino, 'a run with nothing to add rewrote the file')
  })

  test('no scripts section: one is added last; a tab-indented CRLF file keeps its tabs and CRLF', async (t) => {
    const bare = { name: 'x', version: '1.0.0' }
    const root = host(t, bare, JSON.stringify(bare, null, '\t').replace(/\n/g, '\r\n') + '\r\n')
    assertExit(await runCli(['init', '--root', root]), 0, 'init')
    const text = fs.readFileSync(path.join(root, 'package.json'), 'utf8')
    const expected = { ...bare, scripts: Object.fromEntries(SCRIPTS) }
    assert.equal(text, JSON.stringify(expected, null, '\t').replace(/\n/g, '\r\n') + '\r\n')
  })

  test('refusals: no package.json exits 1, invalid JSON or a non-object scripts exits 2; nothing written', async (t) => {
    const empty = tmpDir(t, 'lcs-init-')
    const none = assertExit(await runCli(['init', '--root', empty]), 1, 'init without package.json')
    assert.match(none.stderr, /no package\.json in .* \(create one with npm init -y/)
    assert.deepEqual(fs.readdirSync(empty), [])

    const broken = host(t, null, '{ "name": "x", }\n')
    const bad = assertExit(await runCli(['init', '--root', broken]), 2, 'init on invalid JSON')
    assert.match(bad.stderr, /package\.json is not valid JSON/)
    assert.equal(fs.readFileSync(path.join(broken, 'package.json'), 'utf8'), '{ "name": "x", }\n')

    const odd = host(t, { name: 'x', scripts: ['a'] })
    assert.match(assertExit(await runCli(['init', '--root', odd]), 2, 'init on scripts: []').stderr, /"scripts" in .* is not an object/)
    assert.deepEqual(fs.readdirSync(odd), ['package.json'])

    assert.match(assertExit(await runCli(['init', 'extra', '--root', odd]), 2, 'init with a stray argument').stderr, /unexpected argument extra/)
  })

  test('package.json changed by someone else between the read and the rename: refused with exit code 3, their version kept, no temp file', (t) => {
    const root = host(t, { name: 'x' })
    const file = path.join(root, 'package.json')
    const theirs = fs.readFileSync(file, 'utf8')
    assert.throws(() => writeAtomically(file, '{"name": "ours"}\n', '{"name": "what we read"}\n'), (e) => {
      assert.equal(e.exitCode, 3)
      assert.match(e.message, /changed while init ran; nothing written/)
      return true
    })
    assert.equal(fs.readFileSync(file, 'utf8'), theirs)
    assert.deepEqual(fs.readdirSync(root), ['package.json'])
  })
})
