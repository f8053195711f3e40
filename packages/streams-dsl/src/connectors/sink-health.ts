/**
 * Whether a sink can write right now: `unavailable` while at least one write waits out an outage.
 *
 * @example
 * sink.health.current // { state: 'unavailable', since: 1735732810000, error: 'connect ECONNREFUSED 127.0.0.1:6379', reason: 'connection' }
 */
export type SinkHealthState = {
  /** `ok`, or `unavailable` while a write waits out an outage. */
  readonly state: 'ok' | 'unavailable'
  /** Epoch ms of the last change, null before any. */
  readonly since: number | null
  /** The error that started the current outage. */
  readonly error?: string
  /** Its class, short (for metric labels): a Redis error code such as `OOM` or `LOADING`, or `connection`. */
  readonly reason?: string
}

/**
 * The observable availability of one sink, fed by its retry loop (`onUnavailable` / `onRecovered`). Counts the
 * writes currently waiting, so several concurrent writes give one outage, not several.
 *
 * @example
 * const health = new SinkHealth()
 * const off = health.subscribe((s) => console.log(s.state))
 * health.down(new Error('connect ECONNREFUSED'), 'connection') // logs 'unavailable'
 * health.up() // logs 'ok'
 */
export class SinkHealth {
  #failing = 0
  #state: SinkHealthState = { state: 'ok', since: null }
  readonly #outages = new Map<string, number>()
  readonly #listeners = new Set<(s: SinkHealthState) => void>()

  constructor(readonly now: () => number = Date.now) {}

  /** The state now. */
  get current(): SinkHealthState {
    return this.#state
  }

  /** Outages so far by reason (`unknown` when none was given), e.g. `{ OOM: 1, connection: 2 }`. */
  get outages(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.#outages)
  }

  /** A write started failing (it keeps retrying); `reason` classifies `err` (e.g. `OOM`). */
  down(err?: unknown, reason?: string): void {
    this.#failing++
    if (this.#failing === 1) {
      const error = err === undefined ? undefined : err instanceof Error ? err.message : String(err)
      const r = reason ?? 'unknown'
      this.#outages.set(r, (this.#outages.get(r) ?? 0) + 1)
      this.#set({
        state: 'unavailable',
        since: this.now(),
        ...(error !== undefined && { error }),
        ...(reason !== undefined && { reason }),
      })
    }
  }

  /** A failing write stopped waiting (written, aborted or failed for good). */
  up(): void {
    if (this.#failing === 0) return
    this.#failing--
    if (this.#failing === 0) this.#set({ state: 'ok', since: this.now() })
  }

  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (s: SinkHealthState) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #set(s: SinkHealthState): void {
    this.#state = s
    for (const l of this.#listeners) l(s)
  }
}

/**
 * A sink that reports its availability (the Redis sinks do): the runner pauses the input while it is unavailable
 * and shows it in `/status` and `/metrics`.
 *
 * @example
 * const health = new SinkHealth()
 * const sink: Sink<string> & ObservableSink = { name: 'audit', health, write: async (lines) => send(lines) }
 */
export type ObservableSink = { readonly health: SinkHealth }

/** The sink's {@link SinkHealth} if it has one. */
export function sinkHealthOf(sink: object): SinkHealth | undefined {
  const h = (sink as Partial<ObservableSink>).health
  return h instanceof SinkHealth ? h : undefined
}
