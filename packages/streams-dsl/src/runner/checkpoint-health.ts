/**
 * What `/status` says about checkpoints.
 *
 * @example
 * const c = runner.status().checkpoints
 * if (c && c.consecutiveFailures > 0) console.error(`checkpoints failing: ${c.error}`)
 */
export type CheckpointStatus = {
  /** Checkpoints written (or found unchanged) and followed by a commit attempt. */
  readonly succeeded: number
  readonly failed: number
  /** Failures since the last success (0 while healthy). */
  readonly consecutiveFailures: number
  /** Epoch ms of the last successful checkpoint; null before the first. */
  readonly lastSuccessAt: number | null
  /** Seconds since the last successful checkpoint (since the start before the first). */
  readonly ageSeconds: number
  /** The last failure's message, while failing. */
  readonly error?: string
}

/**
 * Keeps track of checkpoint outcomes: a checkpoint that fails holds every offset commit back (offsets are never
 * committed past a checkpoint), so a job that keeps failing must say so (`/status` state `degraded`, the counters
 * and the age in `/metrics`) rather than only log it.
 *
 * @example
 * const h = new CheckpointHealth(Date.now())
 * h.failure(new Error('too large'), Date.now()); h.degradedReason(Date.now()) // 'checkpoints failing ...'
 */
export class CheckpointHealth {
  succeeded = 0
  failed = 0
  consecutiveFailures = 0
  lastSuccessAt: number | null = null
  #failingSince: number | null = null
  #lastError: string | undefined

  constructor(readonly startedAt: number) {}

  success(at: number): void {
    this.succeeded++
    this.consecutiveFailures = 0
    this.lastSuccessAt = at
    this.#failingSince = null
    this.#lastError = undefined
  }

  failure(error: Error, at: number): void {
    this.failed++
    this.consecutiveFailures++
    this.#failingSince ??= at
    this.#lastError = error.message
  }

  /** Seconds since the last success (since the start when none yet). */
  ageSeconds(now: number): number {
    return Math.max(0, (now - (this.lastSuccessAt ?? this.startedAt)) / 1000)
  }

  /** Why the job is degraded, while checkpoints fail; undefined while they succeed. */
  degradedReason(now: number): string | undefined {
    if (this.consecutiveFailures === 0 || this.#failingSince === null) return undefined
    const last = this.lastSuccessAt === null ? 'none since the start' : new Date(this.lastSuccessAt).toISOString()
    return `checkpoints failing: ${this.consecutiveFailures} in a row for ${Math.round((now - this.#failingSince) / 1000)} s (last success: ${last}), so no offset is committed and a restart re-reads from the last commit; last error: ${this.#lastError}`
  }

  status(now: number): CheckpointStatus {
    return {
      succeeded: this.succeeded,
      failed: this.failed,
      consecutiveFailures: this.consecutiveFailures,
      lastSuccessAt: this.lastSuccessAt,
      ageSeconds: Math.round(this.ageSeconds(now) * 10) / 10,
      ...(this.#lastError !== undefined && { error: this.#lastError }),
    }
  }
}
