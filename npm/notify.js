// Slack notifications of a rollback (start, success, failure), in the runbook's words.
// Thin I/O glue: when SLACK_WEBHOOK_URL is set, each message is one POST of {"text": …} with
// Node's fetch, given at most 5 s. A post never fails the rollback and never delays it beyond
// that; the URL is never printed or logged, not even in a warning about a failed post.
'use strict'

const TIMEOUT_MS = 5000

/**
 * A notifier for `env.SLACK_WEBHOOK_URL`, or null when it is not set.
 * `warn(text)` is told (without the URL) when a post fails.
 */
function makeNotifier(env = process.env, warn = (text) => process.stderr.write(`${text}\n`)) {
  const url = env.SLACK_WEBHOOK_URL
  if (!url) return null
  const pending = []
  const send = (what, text) => {
    pending.push(
      post(url, text).then((failure) => {
        if (failure) warn(`⚠️  Slack notification (${what}) not sent: ${failure}`)
      }),
    )
  }
  let startedFor = null
  return {
    /** The rollback of incident `incidentId` starts (sent once). */
    started(incidentId, { resumed = false } = {}) {
      if (startedFor) return
      startedFor = incidentId
      send('start', resumed
        ? `🚨 LOOKCOIN EMERGENCY: Incident ${incidentId} - interrupted rollback to LevelDB being resumed. Status: IN_PROGRESS`
        : `🚨 LOOKCOIN EMERGENCY: Incident ${incidentId} - Unified JSON system rollback initiated. Status: IN_PROGRESS; target backend: leveldb`)
    },
    /** The rollback succeeded: `outcome` is emergencyRollback's result. */
    succeeded(outcome) {
      const report = outcome.report ?? {}
      const contracts = report.contracts ?? {}
      const networks = (contracts.networks ?? []).filter((n) => !n.dev).length
      send('success', `✅ LookCoin emergency rollback completed successfully. System operational on ` +
        `${report.backend === 'leveldb' ? 'LevelDB' : report.backend} backend. Incident ${outcome.incidentId} resolved at ` +
        `${report.finishedAt ?? new Date().toISOString()}. Status: RESOLVED; ${contracts.production} contracts on ${networks} networks.`)
    },
    /** The rollback failed with `error` (a StateManagerError). */
    failed(error, incidentId = startedFor) {
      const why = `${error && error.code ? `${error.code}: ` : ''}${error && error.message ? error.message : error}`
      send('failure', startedFor
        ? `❌ LookCoin emergency rollback FAILED: Incident ${incidentId} - ${why}. Status: ESCALATED, manual intervention required; ` +
          'backend: not switched (the old state was put back). Next: npx lookcoin-state assess'
        : `❌ LookCoin emergency rollback refused before it started${incidentId ? ` (incident ${incidentId})` : ''} - ${why}. ` +
          'Status: ESCALATED; nothing was changed, backend: not switched. Next: npx lookcoin-state assess')
    },
    /** Waits for every post (each ends within 5 s of its start). */
    async flush() {
      await Promise.allSettled(pending)
    },
  }
}

/** One POST; resolves with null when the hook answered 2xx, else with why not (never the URL). Never rejects. */
async function post(url, text, timeoutMs = TIMEOUT_MS) {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
      signal,
    })
    await res.arrayBuffer().catch(() => {})
    return res.ok ? null : `HTTP ${res.status}`
  } catch (e) {
    return describe(e, timeoutMs)
  }
}

/** Why a fetch failed, from names and codes only: messages may carry the address. */
function describe(e, timeoutMs) {
  if (e && (e.name === 'TimeoutError' || e.name === 'AbortError')) return `no answer within ${timeoutMs / 1000} s`
  const code = e && (e.cause?.code ?? e.code)
  if (code === 'ERR_INVALID_URL' || (e instanceof TypeError && /url/i.test(e.message))) return 'SLACK_WEBHOOK_URL is not a valid http(s) URL'
  if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return `request failed (${code})`
  return 'request failed'
}

module.exports = { makeNotifier, post, TIMEOUT_MS }
