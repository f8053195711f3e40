import type { Sink } from '../connectors/types.js'

type Waiter = { resolve(): void; reject(e: Error): void; until: number }

/**
 * Writes one sink's records in the order they were handed over, with one `write` in flight at a time: what
 * arrives while a write is in flight is coalesced into the next one. So the engine goes on processing while its
 * outputs are written (as Kafka Streams' producer does), a slow sink gets larger writes rather than more of
 * them, and a sink sees every record once, in order, never two overlapping writes (the latest/previous script
 * relies on that: a late firing must land after the result it replaces).
 *
 * A write takes at most `maxBatch` records (the sink's own `maxBatch`, else 5000: a Redis pipeline or a produce burst stays small; the rest follows in
 * the next write). Memory is bounded: {@link SinkWriter.push} returns a promise to wait on once more than `maxPending` records
 * wait, which holds the engine and, through the source's in-flight bound, the input. A failed write fails the
 * writer: every later push and flush rejects with its error (outputs were lost from memory; the engine must be
 * rebuilt from its last checkpoint).
 *
 * @example
 * const w = new SinkWriter(redisSink, 50_000)
 * await w.push(results) // returns at once unless 50k records wait
 * await w.flush()       // everything pushed so far is durable
 */
export class SinkWriter<T> {
  #pending: T[] = []
  /** The pending records' pushes, oldest first: when each happened (`performance.now()`) and how many it gave. */
  #pushes: { since: number; count: number }[] = []
  #inflight: Promise<void> | undefined
  #failure: Error | undefined
  #waiters: Waiter[] = []
  /** While set, pushed records are dropped (see {@link SinkWriters.mute}). */
  muted = false
  /**
   * Called instead of failing the writer when a write rejects with an error whose `transactionAborted` is true
   * (exactly-once: the instance's Kafka transaction cannot commit, e.g. a record timed out while the process was
   * frozen). What the write held is dropped with the transaction, not lost: the runner drops every task and
   * restores it from its last committed checkpoint, which reads those records again. Without a handler such an
   * error fails the writer like any other. Returns whether it took the error.
   */
  onAbort: ((e: Error) => boolean) | undefined

  constructor(
    readonly sink: Sink<T>,
    readonly maxPending = 50_000,
    readonly maxBatch = 5_000,
    /**
     * Called as records of a push that gave `since` (`performance.now()`) become readable (the sink's `readable`
     * callback, else its write resolved): ms since then, and how many records (a push's records may be split
     * over two writes).
     */
    readonly onDurable?: (sink: string, ms: number, records: number) => void,
  ) {}

  /** The error of the write that failed, if one did. */
  get failure(): Error | undefined {
    return this.#failure
  }

  /** Records handed over and not yet durable. */
  get pending(): number {
    return this.#pending.length + (this.#inflight ? 1 : 0)
  }

  /**
   * Hands records over (the array is taken, not copied). Returns undefined, or a promise that resolves once at
   * most `maxPending` records wait. Throws once a write has failed. `since`: when the work that produced them
   * started, for {@link SinkWriter.onDurable}.
   */
  push(records: T[], since?: number): Promise<void> | undefined {
    if (this.#failure) throw this.#failure
    if (records.length === 0 || this.muted) return undefined
    if (this.onDurable && since !== undefined) this.#pushes.push({ since, count: records.length })
    if (this.#pending.length === 0) this.#pending = records
    else for (let i = 0; i < records.length; i++) this.#pending.push(records[i] as T)
    if (!this.#inflight) this.#next()
    return this.#pending.length > this.maxPending ? this.#wait(this.maxPending) : undefined
  }

  /**
   * Drops what waits and is not in flight yet (the write in flight, if any, goes on); returns how many records.
   * For an instance that learnt its assignment is gone: it must write nothing more of it.
   */
  discard(): number {
    const n = this.#pending.length
    this.#pending = []
    this.#pushes = []
    this.#wake()
    return n
  }

  /** Resolves once everything pushed so far is durable; rejects if a write failed. */
  flush(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure)
    if (!this.#inflight && this.#pending.length === 0) return Promise.resolve()
    return this.#wait(-1)
  }

  #next(): void {
    // at most `maxBatch` records per write: a sink's request (a Redis pipeline, a produce burst) stays small
    let batch = this.#pending
    if (batch.length > this.maxBatch) {
      this.#pending = batch.slice(this.maxBatch)
      batch = batch.slice(0, this.maxBatch)
    } else this.#pending = []
    const pushes = this.#takePushes(batch.length)
    // the results' latency stops once they can be read (the sink may say so before its write resolves)
    let timed = false
    const readable = (): void => {
      if (timed || !this.onDurable) return
      timed = true
      const t = performance.now()
      for (const p of pushes) this.onDurable(this.sink.name, t - p.since, p.count)
    }
    let write: Promise<void>
    try {
      write = this.sink.write(batch, readable)
    } catch (e) {
      write = Promise.reject(e)
    }
    this.#inflight = write.then(
      () => {
        this.#inflight = undefined
        readable()
        if (this.#pending.length > 0) this.#next()
        this.#wake()
      },
      (e: unknown) => {
        this.#inflight = undefined
        const error = e instanceof Error ? e : new Error(String(e))
        this.#pending = []
        this.#pushes = []
        const aborted = (error as { transactionAborted?: unknown }).transactionAborted === true
        if (!(aborted && this.onAbort?.(error))) this.#failure = error
        this.#wake()
      },
    )
  }

  /** The pushes the next `n` pending records came from (splitting the last one if it goes on past them). */
  #takePushes(n: number): { since: number; count: number }[] {
    const out: { since: number; count: number }[] = []
    while (n > 0 && this.#pushes.length > 0) {
      const p = this.#pushes[0] as { since: number; count: number }
      if (p.count <= n) {
        out.push(p)
        this.#pushes.shift()
        n -= p.count
      } else {
        out.push({ since: p.since, count: n })
        p.count -= n
        n = 0
      }
    }
    return out
  }

  /** Waits until at most `until` records wait (-1: nothing pending and nothing in flight). */
  #wait(until: number): Promise<void> {
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject, until }))
  }

  #wake(): void {
    if (this.#waiters.length === 0) return
    const failure = this.#failure
    const idle = !this.#inflight && this.#pending.length === 0
    const keep: Waiter[] = []
    for (const w of this.#waiters) {
      if (failure) w.reject(failure)
      else if (w.until < 0 ? idle : this.#pending.length <= w.until) w.resolve()
      else keep.push(w)
    }
    this.#waiters = keep
  }
}

/**
 * One {@link SinkWriter} per sink, shared by every engine of a process that writes to it (the tasks of a staged
 * engine), so each sink has one ordered stream of writes.
 */
export class SinkWriters {
  readonly #by = new Map<Sink<unknown>, SinkWriter<unknown>>()

  constructor(
    readonly maxPending = 50_000,
    /** Called as pushed records become durable (see {@link SinkWriter}). */
    readonly onDurable?: (sink: string, ms: number, records: number) => void,
  ) {}

  /** The writer of a sink, created on first use. */
  of<T>(sink: Sink<T>): SinkWriter<T> {
    let w = this.#by.get(sink as Sink<unknown>)
    if (!w) {
      w = new SinkWriter(sink as Sink<unknown>, this.maxPending, sink.maxBatch, this.onDurable)
      w.muted = this.#muted
      w.onAbort = (e) => {
        if (!this.onAbort) return false
        this.onAbort(e)
        return true
      }
      this.#by.set(sink as Sink<unknown>, w)
    }
    return w as SinkWriter<T>
  }

  /**
   * Set by the runner under exactly-once: a write whose Kafka transaction must be aborted calls it instead of
   * failing its writer (see {@link SinkWriter.onAbort}).
   */
  onAbort: ((e: Error) => void) | undefined

  /** The first failed write's error, if any. */
  get failure(): Error | undefined {
    for (const w of this.#by.values()) if (w.failure) return w.failure
    return undefined
  }

  /** Drops every writer's waiting records (not the writes in flight); returns how many. */
  discard(): number {
    let n = 0
    for (const w of this.#by.values()) n += w.discard()
    return n
  }

  /** While on, records pushed to any writer are dropped (an instance dropping a lost assignment's tasks). */
  mute(on: boolean): void {
    this.#muted = on
    for (const w of this.#by.values()) w.muted = on
  }
  #muted = false

  /** Resolves once everything pushed to any writer so far is durable. */
  async flush(): Promise<void> {
    await Promise.all([...this.#by.values()].map((w) => w.flush()))
  }
}
