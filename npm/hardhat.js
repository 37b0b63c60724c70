// Hardhat 2 plugin: `require('lookcoin-state/hardhat')` in hardhat.config.js registers the tasks
// state:validate, state:backup, state:rollback (a dry run unless --force) and state:compare, and
// puts the store on `hre.lookcoinState`. The tasks run the CLI's commands (same output, same exit
// codes through process.exitCode); the store is created on first use with
// createStateManager(null, { root: hre.config.paths.root }), backend chosen by the selection rules.
'use strict'

const { extendEnvironment, task, types } = require('hardhat/config')
const addon = require('../index.js')
const { COMMANDS, EXIT, errorLine, exitCodeOf } = require('./commands.js')
const { makeOutput } = require('./output.js')

/** Runs CLI command `name` on the Hardhat project; its exit code becomes the process's exit code when not 0. */
async function runCommand(name, options, hre) {
  const args = { positional: [], root: hre.config.paths.root, rootGiven: true, ...options }
  let code
  try {
    code = await COMMANDS[name](args, makeOutput(args))
  } catch (e) {
    process.stderr.write(`${errorLine(e)}\n`)
    code = exitCodeOf(e)
  }
  if (code !== EXIT.ok) process.exitCode = code
  return code
}

task('state:validate', 'Checks the deployment state: records, unified files, counts (lookcoin-state validate)')
  .addOptionalParam('backend', 'leveldb or unified-json (default: as the store selects)', undefined, types.string)
  .addFlag('quick', 'quick checks only')
  .addOptionalParam('expectContracts', 'expected production contracts', undefined, types.int)
  .addOptionalParam('expectChains', 'expected chains', undefined, types.int)
  .addFlag('json', 'one JSON document on stdout')
  .setAction(({ backend, quick, expectContracts, expectChains, json }, hre) =>
    runCommand('validate', { backend, quick, 'expect-contracts': expectContracts, 'expect-chains': expectChains, json }, hre))

task('state:backup', 'Backs up leveldb/ and deployments/ under backups/ (lookcoin-state backup create)')
  .addOptionalParam('kind', 'manual (default) or migration', undefined, types.string)
  .addOptionalParam('label', 'a label for the manifest', undefined, types.string)
  .addFlag('includeHistory', 'also the unified files\' history')
  .addFlag('json', 'one JSON document on stdout')
  .setAction(({ kind, label, includeHistory, json }, hre) =>
    runCommand('backup', { positional: ['create'], kind, label, 'include-history': includeHistory, json }, hre))

task('state:rollback', 'Emergency rollback to LevelDB: shows the plan (a dry run) unless --force (lookcoin-state rollback)')
  .addFlag('force', 'run it (without it: the plan only, nothing written)')
  .addFlag('noBackup', 'skip the pre-rollback backup')
  .addOptionalParam('backup', 'the backup folder to restore (default: the newest ready one)', undefined, types.string)
  .addOptionalParam('incident', 'incident id (default INC-YYYYMMDD-HHMMSS)', undefined, types.string)
  .addFlag('resume', 'finish an interrupted rollback (with --force)')
  .addFlag('json', 'one JSON document on stdout')
  .setAction(({ force, noBackup, backup, incident, resume, json }, hre) =>
    runCommand('rollback', { force, 'dry-run': !force, 'no-backup': noBackup, backup, incident, resume, json }, hre))

task('state:compare', 'LevelDB against the unified JSON files (lookcoin-state compare)')
  .addOptionalParam('leveldbDir', 'the LevelDB folder (default <root>/leveldb)', undefined, types.string)
  .addFlag('json', 'one JSON document on stdout')
  .setAction(({ leveldbDir, json }, hre) => runCommand('compare', { 'leveldb-dir': leveldbDir, json }, hre))

/** Methods whose first argument is a chain id: it may be left out for the network's chainId. */
const CHAIN_METHODS = ['getContract', 'hasContract', 'putContract', 'putContracts', 'deleteContract', 'getAllContracts']
const PLAIN_METHODS = ['queryContracts', 'exportAll', 'importAll', 'validateIntegrity', 'getMetrics', 'isHealthy']

/**
 * `hre.lookcoinState`: the StateManager's methods, the store opened on first use. A chain-first
 * method called without a chain id uses `hre.network.config.chainId`:
 * `await hre.lookcoinState.getContract(97, 'LookCoin')` or `await hre.lookcoinState.getContract('LookCoin')`.
 */
function lookcoinState(hre) {
  let manager = null
  const open = () => (manager ??= addon.createStateManager(null, { root: hre.config.paths.root }))
  const defaultChain = () => {
    const id = hre.network.config.chainId
    if (!Number.isInteger(id)) {
      throw Object.assign(new Error(`network ${hre.network.name} has no chainId in hardhat.config: give the chain id as the first argument`), {
        name: 'StateManagerError', code: 'VALIDATION_FAILED', details: {},
      })
    }
    return id
  }
  const state = {
    /** The StateManager itself (opened on first use). */
    manager: open,
    /** The default chain: `hre.network.config.chainId`. */
    get chainId() {
      return hre.network.config.chainId
    },
    async getBackendSelection() {
      return (await open()).getBackendSelection()
    },
    async close() {
      if (!manager) return
      const m = manager
      manager = null
      await (await m).close()
    },
  }
  for (const method of CHAIN_METHODS) {
    state[method] = async (...args) => {
      if (typeof args[0] !== 'number') args.unshift(defaultChain())
      const m = await open()
      return m[method](...args)
    }
  }
  for (const method of PLAIN_METHODS) state[method] = async (...args) => (await open())[method](...args)
  return state
}

extendEnvironment((hre) => {
  let state = null
  Object.defineProperty(hre, 'lookcoinState', {
    configurable: true,
    enumerable: true,
    get: () => (state ??= lookcoinState(hre)),
  })
})

module.exports = { lookcoinState }
