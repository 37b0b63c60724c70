#!/usr/bin/env node
// lookcoin-state command line: parses arguments and prints. All logic is in the Rust core.
'use strict'

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const addon = require('../index.js')

// Exit codes (documented in the README): 0 done, 1 problems found or refused safely,
// 2 usage error or bad input, 3 locked or busy.
const EXIT = { ok: 0, problems: 1, usage: 2, locked: 3 }
const CODE_EXIT = {
  STATE_LOCKED: EXIT.locked,
  LOCK_TIMEOUT: EXIT.locked,
  VALIDATION_FAILED: EXIT.usage,
  INVALID_ARGUMENT: EXIT.usage,
}

const HELP = {
  demo: `lookcoin-state demo [--root DIR] [--json]
  Builds a sample workspace shaped like LookCoin's (26 contracts on 5 chains in unified
  JSON, a migration backup holding LevelDB) and prints its records per chain.
  DIR must be new or empty; default: a fresh folder under the system temp dir.
  Example: lookcoin-state demo --root /tmp/lookcoin-demo`,
  show: `lookcoin-state show [--root DIR] [--json]
  Prints the records per chain of a workspace: live unified JSON and the newest backup's LevelDB.
  Example: lookcoin-state show --root ~/lookcoin-contract`,
}

function usage(message) {
  if (message) process.stderr.write(`❌ ${message}\n\n`)
  process.stderr.write(`Usage: lookcoin-state <command> [options]

Commands:
  demo    build a sample workspace and show it
  show    show the records of a workspace

Options:
  --root DIR   project root (default: current directory)
  --json       one JSON document on stdout, nothing else
  --quiet      only errors
  --help       help for a command, e.g. lookcoin-state demo --help
`)
  return EXIT.usage
}

function parse(argv) {
  const args = { command: undefined, root: undefined, json: false, quiet: false, help: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--json') args.json = true
    else if (arg === '--quiet') args.quiet = true
    else if (arg === '--help' || arg === '-h') args.help = true
    else if (arg === '--root') {
      if (i + 1 >= argv.length) throw new UsageError('--root needs a directory')
      args.root = argv[++i]
    } else if (arg.startsWith('--root=')) args.root = arg.slice('--root='.length)
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`)
    else if (args.command === undefined) args.command = arg
    else throw new UsageError(`unexpected argument ${arg}`)
  }
  return args
}

class UsageError extends Error {}

function printSummary(summary, out) {
  out(`📂 ${summary.root}`)
  out(`Unified JSON (live): ${summary.unified.total} contracts on ${summary.unified.chains.length} chains`)
  printChains(summary.unified.chains, out)
  if (summary.backupLeveldb) {
    const b = summary.backupLeveldb
    out(`LevelDB in the newest backup: ${b.chains.total} records on ${b.chains.chains.length} chains`)
    out(`  ${b.path}`)
    printChains(b.chains.chains, out)
  } else {
    out('⚠️  no backup with a LevelDB copy under backups/')
  }
}

function printChains(chains, out) {
  for (const chain of chains) {
    out(`  chain ${String(chain.chainId).padEnd(9)} ${String(chain.count).padStart(2)} contracts`)
    for (const c of chain.contracts) out(`      ${c.name.padEnd(18)} ${c.address}`)
  }
}

async function main(argv) {
  let args
  try {
    args = parse(argv)
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message)
    throw e
  }
  if (args.command === undefined) return args.help ? (usage(), EXIT.ok) : usage('no command given')
  if (!(args.command in HELP)) return usage(`unknown command ${args.command}`)
  if (args.help) {
    process.stdout.write(`${HELP[args.command]}\n`)
    return EXIT.ok
  }
  const out = args.json || args.quiet ? () => {} : (line) => process.stdout.write(`${line}\n`)
  let root = path.resolve(args.root ?? process.cwd())
  if (args.command === 'demo') {
    root = args.root ? root : fs.mkdtempSync(path.join(os.tmpdir(), 'lookcoin-demo-'))
    out(`Building a sample workspace in ${root} …`)
    await addon.createSampleWorkspace(root)
    out('✅ sample workspace built with lookcoin-state\'s own writers')
  }
  const summary = await addon.describeWorkspace(root)
  if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
  else printSummary(summary, out)
  if (args.command === 'demo') out(`Next: lookcoin-state show --root ${root}`)
  return EXIT.ok
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    const code = err && err.code
    process.stderr.write(`❌ ${code ? `${code}: ` : ''}${err && err.message ? err.message : err}\n`)
    process.exit(CODE_EXIT[code] ?? EXIT.problems)
  },
)
