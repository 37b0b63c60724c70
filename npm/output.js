// Printing for the CLI: result lines on stdout, progress on stderr (a bar on a terminal,
// plain lines otherwise, JSON lines with --progress-json, nothing with --json alone).
'use strict'

const MIB = 1024 * 1024

function makeOutput(args) {
  const silent = args.json || args.quiet
  const line = silent ? () => {} : (text) => process.stdout.write(`${text}\n`)
  return { line, progress: progressPrinter(args), json: (value) => writeJson(value) }
}

function writeJson(value) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

function progressPrinter(args) {
  if (args['progress-json']) return (event) => process.stderr.write(`${JSON.stringify(event)}\n`)
  if (args.json || args.quiet) return () => {}
  if (process.stderr.isTTY) return barPrinter()
  return (event) => {
    if (event.message) process.stderr.write(`… ${event.step}: ${event.message}\n`)
    else if (event.filesDone === event.filesTotal) process.stderr.write(`… ${event.phase}: ${event.filesDone} files, ${mib(event.bytesDone)}\n`)
  }
}

/** A one-line bar for file work, redrawn at most every 100 ms; step messages on their own lines. */
function barPrinter() {
  let started = 0
  let last = 0
  return (event) => {
    if (event.message) {
      process.stderr.write(`\r\x1b[K… ${event.step}: ${event.message}\n`)
      return
    }
    const now = Date.now()
    if (event.filesDone === 1) started = now
    const finished = event.filesDone === event.filesTotal
    if (!finished && now - last < 100) return
    last = now
    const share = event.bytesTotal > 0 ? event.bytesDone / event.bytesTotal : 1
    const filled = Math.round(share * 24)
    const elapsed = (now - started) / 1000
    const eta = share > 0 && !finished ? ` ${Math.ceil((elapsed / share) * (1 - share))}s left` : ''
    process.stderr.write(
      `\r\x1b[K${event.phase} [${'#'.repeat(filled)}${'.'.repeat(24 - filled)}] ` +
        `${event.filesDone}/${event.filesTotal} files ${mib(event.bytesDone)}/${mib(event.bytesTotal)}${eta}` +
        (finished ? '\n' : ''),
    )
  }
}

function mib(bytes) {
  return `${(bytes / MIB).toFixed(1)} MiB`
}

function mark(ok) {
  return ok ? '✅' : '❌'
}

module.exports = { makeOutput, writeJson, mark }
