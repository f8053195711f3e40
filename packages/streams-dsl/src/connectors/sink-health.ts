/** Whether a sink can write right now: `unavailable` while at least one write waits out an outage. */
export type SinkHealthState = {
  readonly state: 'ok' | 'unavailable'
  /** Epoch ms of the last change, null before any. */
  readonly since: number | null
  /** The error that started the current outage. */
  readonly error?: string
}

/**
 * The observable availability of one sink, fed by its retry loop (`onUnavailable` / `onRecovered`). Counts the
 * writes currently waiting, so several concurrent writes give one outage, not several.
 *
 * @example
 * const health = new SinkHealth()
 * const off = health.subscribe((s) => console.log(s.state))
 * health.down(new Error('ECONNREFUSED')) // logs 'unavailable'
 * health.up() // logs 'ok'
 */
export class SinkHealth {
  #failing = 0
  #state: SinkHealthState = { state: 'ok', since: null }
  readonly #listeners = new Set<(s: SinkHealthState) => void>()

  constructor(readonly now: () => number = Date.now) {}

  get current(): SinkHealthState {
    return this.#state
  }

  /** A write started failing (it keeps retrying). */
  down(err?: unknown): void {
    this.#failing++
    if (this.#failing === 1) {
      const error = err === undefined ? undefined : err instanceof Error ? err.message : String(err)
      this.#set({ state: 'unavailable', since: this.now(), ...(error !== undefined && { error }) })
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

/** A sink that reports its availability (the Redis sinks do). */
export type ObservableSink = { readonly health: SinkHealth }

/** The sink's {@link SinkHealth} if it has one. */
export function sinkHealthOf(sink: object): SinkHealth | undefined {
  const h = (sink as Partial<ObservableSink>).health
  return h instanceof SinkHealth ? h : undefined
}
