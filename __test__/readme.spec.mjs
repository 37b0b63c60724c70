// Every example in README.md, run: each ```sh block line by line and the "At 3 a.m." table row by
// row (in a host project holding a copy of the fixture workspace, with lookcoin-state and Hardhat
// in its node_modules), each ```js block as a Node script in such a project, and the Hardhat
// blocks as hardhat.config.js plus a script run with `npx hardhat run`, each ```c block compiled
// with gcc -Werror against the addon library and run in such a project. Only the two quick-start
// scripts are not run here: test.sh is what runs this test, and demo.sh builds the addon (its
// `lookcoin-state demo` is run by cli.spec.mjs).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'

import { copyTree, fixture, fixturesSkip, repoRoot, tmpDir } from './helpers.mjs'

const skip = fixturesSkip
const README = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
const hardhatDir = path.join(repoRoot, 'node_modules', 'hardhat')

/** Lines of the quick start not run here, and why. */
const NOT_RUN = {
  './scripts/demo.sh': 'builds the addon while other test files use it; `lookcoin-state demo` is run by cli.spec.mjs',
  './scripts/test.sh': 'runs this test',
}

/** Exit codes other than 0, on the fixture workspace at that point of its block. */
const EXIT = {
  'npx lookcoin-state assess': 1, // Decision: ROLLBACK_REQUIRED
  'npm run state:validate -- --quick': 1, // the fixture's unified files have errors
  'npm run validate:cross-network': 1, // still after the rollback: the unified files are left as they were
  'npx lookcoin-state rollback --resume': 1, // nothing to resume
  'npx hardhat state:validate': 1,
}

/** Node-script prelude of the ```js examples: the names they use without defining. */
const PRELUDE = `'use strict'
const root = process.cwd()
const address = '0x${'ab12'.repeat(10)}'
const proxyAddress = '0x${'cd34'.repeat(10)}'
const hash = '0x${'5e'.repeat(32)}'
const vault = '0x${'7f90'.repeat(10)}'
const ethers = { parseEther: (text) => BigInt(text) * 10n ** 18n };
`

/** The fenced blocks, each with its language, code, line and the section (## heading) it is in. */
function fencedBlocks(markdown) {
  const blocks = []
  let section = ''
  let open = null
  markdown.split('\n').forEach((line, i) => {
    if (open) {
      if (line.startsWith('```')) {
        blocks.push(open)
        open = null
      } else open.code += `${line}\n`
    } else if (line.startsWith('## ')) section = line.slice(3)
    else if (line.startsWith('```')) open = { lang: line.slice(3).trim(), code: '', line: i + 1, section }
  })
  return blocks
}

/** The commands of the "At 3 a.m." table, in order. */
function at3amCommands(markdown) {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('At 3 a.m.'))
  assert.ok(section, 'README has no "At 3 a.m." section')
  return section
    .split('\n')
    .filter((l) => /^\| [^-]/.test(l) && !l.startsWith('| Runbook step'))
    .map((l) => {
      const cell = l.split(' | ')[1]
      const m = /^`([^`]+)`$/.exec(cell.trim())
      assert.ok(m, `not one command in backticks: ${cell}`)
      return m[1]
    })
}

const blocks = fencedBlocks(README)
const hardhatConfig = blocks.find((b) => b.lang === 'js' && b.code.startsWith('// hardhat.config.js\n'))

/** A host project: the fixture workspace, package.json, lookcoin-state and Hardhat in node_modules, the README's hardhat.config.js. */
function hostProject(t, { leveldb = false } = {}) {
  const root = tmpDir(t, 'lcs-readme-')
  copyTree(fixture.workspace, root)
  if (leveldb) copyTree(fixture.liveLeveldb, path.join(root, 'leveldb'))
  const pkg = { name: 'lookcoin-contract', version: '1.0.0', scripts: { test: 'echo "Error: no test specified" && exit 1' } }
  fs.writeFileSync(path.join(root, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  const modules = path.join(root, 'node_modules')
  fs.mkdirSync(path.join(modules, '.bin'), { recursive: true })
  fs.symlinkSync(repoRoot, path.join(modules, 'lookcoin-state'))
  fs.symlinkSync(path.join('..', 'lookcoin-state', 'npm', 'cli.js'), path.join(modules, '.bin', 'lookcoin-state'))
  if (fs.existsSync(hardhatDir)) {
    fs.symlinkSync(hardhatDir, path.join(modules, 'hardhat'))
    fs.symlinkSync(path.join('..', 'hardhat', 'internal', 'cli', 'bootstrap.js'), path.join(modules, '.bin', 'hardhat'))
  }
  if (hardhatConfig) fs.writeFileSync(path.join(root, 'hardhat.config.js'), hardhatConfig.code)
  return root
}

const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))),
  LOOKCOIN_STATE_CRASH_AT: '',
  HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true',
  SLACK_WEBHOOK_URL: '',
  npm_config_offline: 'true',
}

/**
 * Runs one shell line in `cwd`. A rollback that asks (no --force, --dry-run or --resume) gets a
 * terminal (util-linux `script`) and the answer "yes", as an operator would type it.
 */
function shell(line, cwd) {
  const asks = /^npx lookcoin-state rollback(\s+--(root|backup|incident|no-backup)\b\S*(\s+[^-\s]\S*)?)*$/.test(commandOf(line))
  const [cmd, args] = asks ? ['script', ['-qec', line, '/dev/null']] : ['bash', ['-c', line]]
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let answered = false
    child.stdout.setEncoding('utf8').on('data', (s) => {
      stdout += s
      if (asks && !answered && stdout.includes('Type "yes"')) {
        answered = true
        child.stdin.write('yes\n')
      }
    })
    child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120000)
    child.on('error', reject)
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      if (!asks) child.stdin.destroy()
      resolve({ status, signal, stdout, stderr, asked: answered })
    })
    if (!asks) child.stdin.end()
  })
}

/** The command of a README line: without its trailing comment and spaces. */
const commandOf = (line) => line.replace(/\s+#.*$/, '').trim()

async function runLines(t, lines, where, { leveldb = false } = {}) {
  const root = hostProject(t, { leveldb })
  const ran = []
  for (const line of lines) {
    const command = commandOf(line)
    if (!command || command.startsWith('#')) continue
    if (command in NOT_RUN) continue
    const res = await shell(line, root)
    const expected = EXIT[command] ?? 0
    assert.equal(res.status, expected, `${where}: \`${command}\` exited ${res.status} (signal ${res.signal}), expected ${expected}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`)
    ran.push(command)
  }
  return { root, ran }
}

describe('README examples', { skip }, () => {
  test('the two quick-start commands come first; they are the only lines not run here', () => {
    const first = blocks[0]
    assert.equal(first.lang, 'sh')
    assert.match(first.section, /^Quick start/)
    assert.deepEqual(first.code.trim().split('\n').map(commandOf), Object.keys(NOT_RUN))
    assert.ok(README.indexOf('## At 3 a.m.') < README.indexOf('## Node API'), '"At 3 a.m." comes before the API')
    assert.ok(blocks.every((b) => ['sh', 'js', 'c'].includes(b.lang)), `a block in another language: ${blocks.map((b) => b.lang)}`)
  })

  test('"At 3 a.m.": every row\'s command, in order, in a host project holding the sample', async (t) => {
    const commands = at3amCommands(README)
    assert.ok(commands.length >= 15, `${commands.length} rows`)
    assert.equal(commands[0], 'npx lookcoin-state init')
    const { root, ran } = await runLines(t, commands, 'At 3 a.m.')
    assert.deepEqual(ran, commands)
    assert.ok(fs.existsSync(path.join(root, '.env.emergency')), 'the rollback row did not roll back')
    assert.ok(fs.existsSync(path.join(root, 'leveldb-export.json')), 'the export row wrote no leveldb-export.json')
  })

  for (const block of blocks.filter((b) => b.lang === 'sh' && b !== blocks[0])) {
    test(`\`\`\`sh at README line ${block.line} (${block.section}): every line`, async (t) => {
      const lines = block.code.split('\n')
      const { ran } = await runLines(t, lines, `README line ${block.line}`)
      assert.ok(ran.length > 0)
    })
  }

  for (const block of blocks.filter((b) => b.lang === 'js' && b !== hardhatConfig)) {
    const hardhatScript = /^\/\/ (scripts\/[\w.-]+\.js): (npx hardhat run .*)\n/.exec(block.code)
    test(`\`\`\`js at README line ${block.line} (${block.section}) runs${hardhatScript ? ' with npx hardhat run' : ''}`, async (t) => {
      const root = hostProject(t, { leveldb: true })
      let res
      if (hardhatScript) {
        assert.ok(hardhatConfig, 'a Hardhat script without the hardhat.config.js block')
        fs.mkdirSync(path.join(root, 'scripts'), { recursive: true })
        fs.writeFileSync(path.join(root, hardhatScript[1]), block.code)
        res = await shell(hardhatScript[2], root)
      } else {
        const script = `${PRELUDE}(async () => {\n${block.code}})().then(() => console.log('README example done'), (e) => { console.error(e); process.exit(1) })\n`
        fs.writeFileSync(path.join(root, 'readme-example.cjs'), script)
        res = await shell('node readme-example.cjs', root)
      }
      assert.equal(res.status, 0, `README line ${block.line}: exit ${res.status}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`)
      if (!hardhatScript) assert.match(res.stdout, /README example done/)
      if (hardhatScript) {
        const lookCoin = JSON.parse(fs.readFileSync(path.join(fixture.deployments, 'unified', 'bsctestnet.unified.json'), 'utf8')).contracts.core.LookCoin
        assert.equal(res.stdout.trim(), `${lookCoin.proxy} unified-json`)
      }
    })
  }

  for (const block of blocks.filter((b) => b.lang === 'c')) {
    test(`\`\`\`c at README line ${block.line} (${block.section}) compiles with -Werror and runs in a project`, async (t) => {
      const root = hostProject(t, { leveldb: true })
      // The Node addon is the same library as target/release/liblookcoin_state.so: link it under that name.
      const lib = tmpDir(t, 'lcs-readme-c-')
      const [addonFile] = fs.readdirSync(repoRoot).filter((f) => /^lookcoin-state\..*\.node$/.test(f))
      fs.copyFileSync(path.join(repoRoot, addonFile), path.join(lib, 'liblookcoin_state.so'))
      fs.writeFileSync(path.join(lib, 'example.c'), block.code)
      const cc = process.env.CC || 'gcc'
      const exe = path.join(lib, 'example')
      const compile = await shell(`${cc} -std=c11 -Wall -Wextra -Werror -I${path.join(repoRoot, 'include')} ${path.join(lib, 'example.c')} ` +
        `-o ${exe} -L${lib} -llookcoin_state -Wl,-rpath,${lib}`, root)
      assert.equal(compile.status, 0, `compiling README line ${block.line}:\n${compile.stderr}`)
      const res = await shell(exe, root)
      assert.equal(res.status, 0, `README line ${block.line}: exit ${res.status}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`)
      const record = JSON.parse(res.stdout)
      assert.equal(record.contractName, 'LookCoin')
      assert.equal(record.chainId, 97)
    })
  }
})
