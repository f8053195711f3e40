import type { SinkHealth, SinkHealthState } from '../connectors/sink-health.js'
import type { SourceConnector, TopicPartition } from '../connectors/types.js'

/**
 * One sink in `/status`: whether it can write, since when, why not, and its outages so far by reason.
 *
 * @example
 * runner.status().sinks // [{ name: 'redis-hash(views)', state: 'ok', since: 1735732810000, outages: { connection: 1 } }]
 */
export type SinkStatus = { readonly name: string; readonly outages: Readonly<Record<string, number>> } & SinkHealthState

/** Options of {@link Backpressure}. */
export type BackpressureOptions = {
  readonly source: Pick<SourceConnector, 'pause' | 'resume'>
  /** The partitions this instance owns right now (all of them are paused and resumed together). */
  readonly partitions: () => readonly TopicPartition[]
  /** Pause once a tracked write has been pending this long (default 1000 ms). */
  readonly thresholdMs?: number
  /**
   * Partitions of internal topics (repartition topics): paused for an outage of a sink, never for slow writes —
   * the slow writer may be the repartition producer itself, and pausing its downstream input would only stop
   * the tasks that drain it.
   */
  readonly internal?: (tp: TopicPartition) => boolean
  readonly logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void }
}

/**
 * Pauses every owned source partition while output is stuck, resumes them once it flows again. Stuck means: a
 * tracked write (a batch or tick until its results are durable) pending longer than `thresholdMs`, or a watched
 * sink reporting an outage. Pausing lets the consumer keep polling (heartbeats, rebalances, `max.poll.interval.ms`)
 * without fetching more input than the sinks can take. After `stop()` it never calls the source again: a pause
 * queued while the consumer disconnects would be rejected by the client.
 *
 * @example
 * const bp = new Backpressure({ source, partitions: () => source.partitions(), thresholdMs: 1000 })
 * await bp.track(engine.process(batch))
 */
export class Backpressure {
  readonly thresholdMs: number
  /** How many times the source was paused. */
  pauses = 0
  #slow = 0
  #paused = false
  /** What the current pause covers. */
  #scope: 'all' | 'inputs' = 'all'
  #stopped = false
  readonly #sinks = new Map<string, SinkHealth>()
  readonly #unsubscribe: (() => void)[] = []

  constructor(readonly options: BackpressureOptions) {
    this.thresholdMs = options.thresholdMs ?? 1000
  }

  /** Whether the source is paused by backpressure now. */
  get paused(): boolean {
    return this.#paused
  }

  /** Watches a sink's availability: an outage pauses the source at once, the recovery may resume it. */
  watch(name: string, health: SinkHealth): void {
    this.#sinks.set(name, health)
    this.#unsubscribe.push(health.subscribe(() => this.#update()))
  }

  /** Every watched sink's state. */
  sinks(): SinkStatus[] {
    return [...this.#sinks].map(([name, h]) => ({ name, ...h.current, outages: h.outages }))
  }

  /** Resolves and rejects as `work` does; pauses the source while it is pending past the threshold. */
  async track<T>(work: Promise<T>): Promise<T> {
    let slow = false
    const timer = setTimeout(() => {
      slow = true
      this.#slow++
      this.#update()
    }, this.thresholdMs)
    try {
      return await work
    } finally {
      clearTimeout(timer)
      if (slow) {
        this.#slow--
        this.#update()
      }
    }
  }

  /** Partitions newly assigned while paused are paused as well (the client assigns them unpaused). */
  assigned(partitions: readonly TopicPartition[]): void {
    const internal = this.options.internal
    const these = this.#scope === 'inputs' && internal ? partitions.filter((tp) => !internal(tp)) : partitions
    if (this.#paused && these.length) this.#call('pause', these)
  }

  /** No more pause or resume calls (before the source stops). */
  stop(): void {
    this.#stopped = true
    for (const off of this.#unsubscribe.splice(0)) off()
  }

  #update(): void {
    if (this.#stopped) return
    const down = [...this.#sinks].filter(([, h]) => h.current.state === 'unavailable').map(([n]) => n)
    const stuck = this.#slow > 0 || down.length > 0
    // what is paused: every partition for an outage, the inputs of the job only for slow writes
    const scope = down.length > 0 ? 'all' : 'inputs'
    if (stuck === this.#paused && (!stuck || scope === this.#scope)) return
    const internal = this.options.internal
    const all = this.options.partitions()
    const inputs = internal ? all.filter((tp) => !internal(tp)) : all
    if (stuck && this.#paused) {
      // already paused: widen to the internal partitions (an outage began) or resume them (it ended)
      const extra = all.filter((tp) => !inputs.includes(tp))
      this.#call(scope === 'all' ? 'pause' : 'resume', extra)
      this.#scope = scope
      return
    }
    const partitions = stuck && scope === 'inputs' ? inputs : all
    this.#scope = scope
    this.#paused = stuck
    if (stuck) {
      this.pauses++
      this.options.logger?.warn(
        { partitions: partitions.length, unavailable: down, slowWrites: this.#slow },
        `output is stuck (${down.length ? `${down.join(', ')} unavailable` : `a write pending over ${this.thresholdMs} ms`}); pausing ${partitions.length} input partition(s)`,
      )
      this.#call('pause', partitions)
    } else {
      this.options.logger?.info(
        { partitions: partitions.length },
        `output flows again; resuming ${partitions.length} input partition(s)`,
      )
      this.#call('resume', partitions)
    }
  }

  #call(op: 'pause' | 'resume', partitions: readonly TopicPartition[]): void {
    if (partitions.length === 0) return
    try {
      this.options.source[op](partitions)
    } catch (e) {
      // E.g. the client is no longer connected: the source is stopping anyway.
      this.options.logger?.warn({ err: (e as Error).message }, `${op} of the input failed: ${(e as Error).message}`)
    }
  }
}

/** `PAUSE_AFTER_MS` from the environment (the backpressure threshold), or undefined. */
export function pauseAfterMsFromEnv(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const v = env.PAUSE_AFTER_MS
  if (v === undefined || v === '') return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0)
    throw Object.assign(new Error(`PAUSE_AFTER_MS must be a number of ms >= 0, got "${v}"`), { name: 'ConfigError' })
  return n
}
