/**
 * What a source knows about the unread records of one partition: the evidence docs/contract.md §2.3 asks for before a
 * silent partition may count as idle. A partition is caught up when a broker response whose request was sent
 * after the partition's last delivery (and no longer ago than `maxAgeMs`) shows its log end at or below the
 * position the job has reached. Silence is not evidence: paused, never answered, answered before the last
 * delivery, or answered too long ago — the partition is not caught up, so it never goes idle while it cannot be
 * read (broker unreachable, fetches failing, paused by backpressure, not fetched since it was assigned, the job
 * itself stopped).
 */

/**
 * One partition's evidence, as `/status` shows it and `SourceConnector.readEvidence` returns it.
 *
 * @example
 * { position: 812, logEnd: 812, logEndCheckedAt: 1735732810000, paused: false, caughtUp: true, reason: 'log end 812 reached' }
 */
export type ReadEvidenceStatus = {
  /** Next offset the job will read (one past the last record processed, or where the log end was reached). */
  readonly position: number | null
  /** Log end offset (read_committed: the last stable offset) of the newest broker answer. */
  readonly logEnd: number | null
  /** Wall-clock time the request of that answer was sent, epoch ms. */
  readonly logEndCheckedAt: number | null
  /** Paused by backpressure: never caught up meanwhile. */
  readonly paused: boolean
  /** True when the evidence shows nothing unread right now (a silent partition may then go idle). */
  readonly caughtUp: boolean
  /** Why it is, or is not, caught up: one short sentence. */
  readonly reason: string
}

/**
 * The evidence of one partition. Pure bookkeeping (the caller supplies every time), so it is unit-testable;
 * the Kafka source feeds it deliveries, end-of-partition events and log-end probes.
 *
 * @example
 * const e = new ReadEvidence(now)
 * e.delivered(41, now)            // records up to offset 41 handed out
 * e.probed(42, sentAt)            // a broker answer: log end 42
 * e.caughtUp(now, 3000)           // true while the answer is recent and came after the delivery
 */
export class ReadEvidence {
  position: number | null = null
  logEnd: number | null = null
  logEndCheckedAt: number | null = null
  paused = false
  /** Why the last probe failed, until one succeeds. */
  failure: string | null = null
  /** Deliveries, assignment and resumption: evidence must come from a request sent after this. */
  since: number

  constructor(now: number) {
    this.since = now
  }

  /** Records up to `lastOffset` were processed at `now`. */
  delivered(lastOffset: number, now: number): void {
    if (this.position === null || lastOffset + 1 > this.position) this.position = lastOffset + 1
    this.since = now
  }

  /**
   * The consumer reached the end of the partition at `offset` (everything before it was handed out, or skipped as
   * transaction markers). A position, not fresh evidence: the event may have waited in a queue.
   */
  reachedEnd(offset: number): void {
    if (offset >= 0 && (this.position === null || offset > this.position)) this.position = offset
  }

  /** The job will read from `offset` next (assignment or restore), before anything was delivered. */
  startsAt(offset: number): void {
    if (offset >= 0 && this.position === null) this.position = offset
  }

  /** A broker answered a log-end request sent at `sentAt`. Older answers than the newest are ignored. */
  probed(logEnd: number, sentAt: number): void {
    this.failure = null
    if (this.logEndCheckedAt !== null && sentAt < this.logEndCheckedAt) return
    this.logEnd = logEnd
    this.logEndCheckedAt = sentAt
  }

  /** A log-end request failed or timed out (the broker is unreachable, the leader moved, ...). */
  probeFailed(why: string): void {
    this.failure = why
  }

  pause(): void {
    this.paused = true
  }

  resume(now: number): void {
    this.paused = false
    this.since = now
  }

  /** Whether a probe sent now would tell something new: not paused, and no answer since the last delivery. */
  wantsProbe(now: number, quietMs: number, maxAgeMs: number): boolean {
    if (this.paused || now - this.since < quietMs) return false
    return (
      this.logEndCheckedAt === null || this.logEndCheckedAt < this.since || now - this.logEndCheckedAt >= maxAgeMs / 3
    )
  }

  /** True when the evidence shows nothing unread at `now` (see the module comment). */
  caughtUp(now: number, maxAgeMs: number): boolean {
    return (
      !this.paused &&
      this.position !== null &&
      this.logEnd !== null &&
      this.logEndCheckedAt !== null &&
      this.logEndCheckedAt >= this.since &&
      now - this.logEndCheckedAt <= maxAgeMs &&
      this.logEnd <= this.position
    )
  }

  /** The evidence as `/status` shows it, with the reason in words. */
  status(now: number, maxAgeMs: number): ReadEvidenceStatus {
    const caughtUp = this.caughtUp(now, maxAgeMs)
    return {
      position: this.position,
      logEnd: this.logEnd,
      logEndCheckedAt: this.logEndCheckedAt,
      paused: this.paused,
      caughtUp,
      reason: caughtUp ? this.#caughtUpReason(now) : this.#notCaughtUpReason(now, maxAgeMs),
    }
  }

  #caughtUpReason(now: number): string {
    return `log end ${this.logEnd} <= position ${this.position}, checked ${ago(now, this.logEndCheckedAt as number)}`
  }

  #notCaughtUpReason(now: number, maxAgeMs: number): string {
    if (this.paused) return 'paused (backpressure): not read, so never idle'
    if (this.failure !== null && (this.logEndCheckedAt === null || now - this.logEndCheckedAt > maxAgeMs))
      return `cannot ask the broker for its log end: ${this.failure}`
    if (this.position === null) return 'not fetched yet since it was assigned'
    if (this.logEnd === null || this.logEndCheckedAt === null) return 'log end not checked yet'
    if (this.logEndCheckedAt < this.since) return 'records arrived after the last log-end check'
    if (now - this.logEndCheckedAt > maxAgeMs)
      return `last log-end answer ${ago(now, this.logEndCheckedAt)} (older than ${maxAgeMs} ms): broker unreachable or the job was stopped`
    return `${this.logEnd - this.position} record(s) unread (log end ${this.logEnd}, position ${this.position})`
  }
}

const ago = (now: number, at: number) => `${Math.max(0, Math.round((now - at) / 100) / 10)} s ago`
