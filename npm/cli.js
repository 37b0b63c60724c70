#!/usr/bin/env node
// lookcoin-state command line: parses arguments and prints. All logic is in the Rust core.
'use strict'

const path = require('node:path')
const { COMMANDS, EXIT, UsageError, errorLine, exitCodeOf } = require('./commands.js')
const { makeOutput } = require('./output.js')

const VALUE_OPTIONS = new Set(['root', 'backup', 'incident', 'kind', 'label', 'keep', 'expect-contracts', 'expect-chains', 'backend',
  'leveldb-dir', 'out', 'rounds'])
const FLAGS = new Set(['json', 'quiet', 'help', 'force', 'no-backup', 'dry-run', 'resume', 'include-history',
  'structure-only', 'apply', 'progress-json', 'quick', 'overwrite', 'include-dev', 'newest', 'clean', 'write'])

const HELP = {
  init: `lookcoin-state init [--root DIR] [--dry-run]
  Adds the runbook's npm scripts to the project's package.json (emergency:rollback-to-leveldb,
  emergency:validate-rollback, state:validate, backup:create, backup:verify, backup:assess-quality,
  count:contracts, validate:cross-network, migration:leveldb-to-unified, migration:json-to-leveldb,
  migration:export-leveldb, generate:rollback-validation-report, benchmark:post-rollback), each running
  one lookcoin-state command. Scripts already there are left as they were (and listed); the file keeps
  its formatting and is replaced atomically. --dry-run lists what it would add and writes nothing.
  Example: lookcoin-state init --dry-run`,
  export: `lookcoin-state export [--root DIR] [--backend leveldb|unified-json|json] [--clean] [--out FILE]
  Every record of the store (backend by the selection rules unless --backend) as one export document
  (the importAll format). --clean drops the dev chain 31337. Without --out the document is stdout;
  --out writes it atomically (and --json then prints a summary). Changes no record.
  Example: lookcoin-state export --backend leveldb --clean --out leveldb-export.json`,
  import: `lookcoin-state import FILE [--root DIR] [--backend leveldb|unified-json] [--overwrite] [--json]
  Writes the records of an export document (lookcoin-state export, or the old scripts' exportAll) into
  the store: all or nothing (every record is checked first), existing records kept unless --overwrite.
  Example: lookcoin-state import leveldb-export.json --backend leveldb`,
  bench: `lookcoin-state bench [--root DIR] [--backend leveldb|unified-json] [--rounds N]
  The runbook's post-rollback benchmark: reads every record N times (default 5) and writes each once
  through a normal store, on a scratch copy of leveldb/ and deployments/ (the live files are only
  read), and checks read p99 ≤ 100 ms, write p99 ≤ 300 ms and memory ≤ 1 GB. Exit 1 when outside.
  Example: lookcoin-state bench --backend leveldb`,
  report: `lookcoin-state report rollback [--root DIR] [--incident ID] [--write]
lookcoin-state report incident [--root DIR] [--incident ID] [--write]
  The runbook's post-rollback validation report (validateRollback and a full validateState of
  leveldb/ against the counts the rollback restored), or its incident report (timeline and actions
  from rollback.log and the journal, contracts the rollback changed, validateState evidence from the
  unified JSON left in place), for an incident (default: the newest under logs/incidents/). Printed as
  Markdown; --json prints the data instead. Writes nothing unless --write, which keeps <name>.md and
  <name>.json in the incident folder. report rollback exits 1 unless the system is ready.
  Example: lookcoin-state report incident --write --root ~/lookcoin-contract`,
  recover: `lookcoin-state recover hashes [--root DIR] [--dry-run]
lookcoin-state recover args [--root DIR] [--dry-run]
lookcoin-state recover timestamps [--root DIR]
  hashes/args fill the implementation hashes or constructor arguments a live store (leveldb/ or
  deployments/unified/) lacks, from the other store, the unified files' extended_ data, the legacy
  deployments/<network>.json files and every backup; only from records of the same deployment (same
  implementation address for a hash, same proxy for arguments); nothing is overwritten. Sources that
  disagree are listed, never chosen between (exit 1). A real run backs up first (kind manual);
  --dry-run writes nothing. timestamps checks the stores' deploy times (none in the future, none
  before the chain's first recorded deploy, LevelDB against unified) and writes nothing.
  Example: lookcoin-state recover args --dry-run --root ~/lookcoin-contract`,
  rollback: `lookcoin-state rollback [--root DIR] [--dry-run] [--force] [--no-backup] [--backup DIR] [--incident ID] [--resume]
  Emergency rollback from unified JSON to LevelDB. Shows the plan first (backup chosen and
  deep-verified, every path created/replaced/kept, record counts before and after).
  --dry-run stops there and writes nothing. Without --force it asks for "yes" on a terminal.
  An interrupted rollback is finished first (--resume only finishes one).
  Example: lookcoin-state rollback --dry-run --root ~/lookcoin-contract`,
  'rollback-validate': `lookcoin-state rollback-validate [--root DIR] [--expect-contracts N] [--expect-chains N]
  The runbook's post-rollback checks; writes nothing. Exit 0 when all pass.
  Example: lookcoin-state rollback-validate --expect-contracts 26 --expect-chains 5`,
  validate: `lookcoin-state validate [--root DIR] [--backend leveldb|unified-json] [--quick] [--expect-contracts N] [--expect-chains N]
  Checks the records, the unified files (chain claims, duplicates, aliases, hashes, checksums,
  remote chain ids) and the counts; each finding with its code, place and what to do. Writes nothing.
  Exit 0 when there is no error.
  Example: lookcoin-state validate --backend unified-json`,
  count: `lookcoin-state count [--root DIR] [--backend leveldb|unified-json] [--leveldb-dir DIR]
  Contracts per chain and network (distinct by canonical name), dev chains apart. Writes nothing.
  Example: lookcoin-state count --leveldb-dir backups/migration-2025-08-13T11-26-18-516Z/leveldb/current`,
  compare: `lookcoin-state compare [--root DIR] [--leveldb-dir DIR]
  LevelDB (default <root>/leveldb) against the live unified files: matched, differs (both values),
  missing on either side. Writes nothing; --json for every field.
  Example: lookcoin-state compare --leveldb-dir backups/migration-2025-08-13T11-26-18-516Z/leveldb/current`,
  assess: `lookcoin-state assess [--root DIR]
  Emergency assessment: unified files, trigger markers, a verified backup, disk space, and
  the decision (ROLLBACK_REQUIRED, CONDITIONAL, NOT_NEEDED, RESUME_REQUIRED).
  Example: lookcoin-state assess --root ~/lookcoin-contract`,
  'regenerate-unified': `lookcoin-state regenerate-unified [--root DIR] [--dry-run]
  Rebuilds deployments/unified/*.unified.json from LevelDB (after a backup), keeping their other sections.
  Example: lookcoin-state regenerate-unified --dry-run`,
  migrate: `lookcoin-state migrate leveldb-to-unified [--root DIR] [--dry-run] [--include-dev]
lookcoin-state migrate unified-to-leveldb [--root DIR] [--dry-run] [--overwrite]
lookcoin-state migrate json-to-leveldb [--root DIR] [--dry-run] [--overwrite]
  Copies records between the stores: LevelDB into the unified files (merged: their other sections
  and entries LevelDB lacks are kept; dev chain 31337 only with --include-dev), or the unified or
  legacy deployments/<network>.json files into LevelDB (keys it holds with another value are kept
  unless --overwrite; a file claiming another chain than its name is skipped). A real run backs up
  first (kind manual); --dry-run lists every file or key it would write and writes nothing.
  Example: lookcoin-state migrate json-to-leveldb --dry-run --root ~/lookcoin-contract`,
  backup: `lookcoin-state backup create [--kind manual|migration] [--label TEXT] [--include-history]
lookcoin-state backup verify DIR|--newest [--structure-only]
lookcoin-state backup assess DIR|--newest
lookcoin-state backup list
lookcoin-state backup prune --keep N [--apply]
  Backups under <root>/backups. verify re-hashes every file and reads every LevelDB block.
  --newest picks the newest complete backup under <root>/backups.
  Example: lookcoin-state backup verify backups/migration-2025-08-13T11-26-18-516Z`,
  demo: `lookcoin-state demo [--root DIR]
  The main job on a generated workspace: builds a sample shaped like LookCoin's, rolls it back
  to LevelDB and validates the result. DIR must be new or empty (default: a temp folder).
  Example: lookcoin-state demo`,
  show: `lookcoin-state show [--root DIR]
  Prints the records per chain of a workspace.
  Example: lookcoin-state show --root ~/lookcoin-contract`,
}

function usage(message) {
  if (message) process.stderr.write(`❌ ${message}\n\n`)
  // Asked for (--help, no message): stdout, so it can be paged; after a usage error: stderr.
  const out = message ? process.stderr : process.stdout
  out.write(`Usage: lookcoin-state <command> [options]

Commands:
  init                add the runbook's npm scripts to package.json
  assess              should we roll back? (the runbook's assessment)
  rollback            emergency rollback to LevelDB (--dry-run first)
  rollback-validate   check the state after a rollback
  validate            check records, unified files and counts
  count               contracts per chain and network
  compare             LevelDB against unified JSON
  regenerate-unified  rebuild unified JSON from LevelDB
  migrate             copy records between LevelDB, unified JSON and legacy JSON
  backup              create | verify | assess | list | prune
  export              the whole store as one export document
  import              an export document into the store (all or nothing)
  bench               read/write/memory against the runbook's thresholds
  report              rollback | incident: the runbook's reports for an incident
  recover             hashes | args | timestamps: fill lost values from local sources
  demo                the main job on a generated sample workspace
  show                records per chain of a workspace

Options:
  --root DIR        project root (default: current directory)
  --json            one JSON document on stdout, nothing else
  --progress-json   progress as JSON lines on stderr
  --quiet           only errors
  --help            help for a command, e.g. lookcoin-state rollback --help

Exit codes: 0 done, 1 problems found or refused safely, 2 usage or bad input,
3 locked or busy, 4 an interrupted rollback needs --resume.

Example: lookcoin-state assess --root ~/lookcoin-contract
`)
  return EXIT.usage
}

function parse(argv) {
  const args = { positional: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--')) {
      if (arg === '-h') args.help = true
      else if (args.command === undefined) args.command = arg
      else args.positional.push(arg)
      continue
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s)
    if (FLAGS.has(name) && inline === undefined) args[name] = true
    else if (VALUE_OPTIONS.has(name)) {
      const value = inline ?? argv[++i]
      if (value === undefined) throw new UsageError(`--${name} needs a value`)
      args[name] = value
    } else throw new UsageError(`unknown option --${name}`)
  }
  args.rootGiven = args.root !== undefined
  args.root = path.resolve(args.root ?? process.cwd())
  return args
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
  const command = COMMANDS[args.command]
  if (!command) return usage(`unknown command ${args.command}`)
  // Only `backup`, `migrate`, `report`, `recover` and `import` take positional arguments; elsewhere one is a mistake (a root without --root would run on the cwd).
  if (!['backup', 'migrate', 'report', 'recover', 'import'].includes(args.command) && args.positional.length > 0) {
    return usage(`unexpected argument ${args.positional[0]} (the project root goes after --root)`)
  }
  if (args.help) {
    process.stdout.write(`${HELP[args.command]}\n`)
    return EXIT.ok
  }
  try {
    return await command(args, makeOutput(args))
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message)
    throw e
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${errorLine(err)}\n`)
    process.exit(exitCodeOf(err))
  },
)
