/**
 * What a {@link Processor}'s callbacks are given: the key's state, its event-time timers, and a way to emit. One
 * context per key at a time; valid only during the callback it is passed to.
 *
 * @example
 * process(view, ctx) {
 *   ctx.state = { views: (ctx.state?.views ?? 0) + 1 } // the key's state, checkpointed with the task
 *   ctx.setTimer(ctx.timestamp + 30_000)                 // onTimer(t) once the watermark reaches t
 * }
 */
export interface ProcessContext<K, S, R> {
  /** The key of the record or timer (the keyBy's). */
  readonly key: K
  /**
   * Event time of the record being processed, or the time of the timer firing (for a wall-clock timer, its
   * wall-clock time: what is emitted then carries it as event time, as in Kafka Streams).
   */
  readonly timestamp: number
  /** The watermark of the operator's input (`-Infinity` before the first). */
  readonly watermark: number
  /**
   * The key's state: undefined until set; set it to keep it, to `undefined` to drop it. It must be plain JSON
   * (it is snapshotted and restored as JSON); a mutated object must be set again only if it was replaced.
   */
  state: S | undefined
  /**
   * Asks for `onTimer(time)` once the watermark reaches `time` (one timer per key and time: setting it twice
   * sets it once). A time at or before the current watermark fires at the next watermark step.
   */
  setTimer(time: number): void
  /** Cancels the key's timer at `time`, if set. */
  deleteTimer(time: number): void
  /** The key's pending timer times, ascending. */
  timers(): readonly number[]
  /**
   * Asks for `onWallClockTimer(time)` once the wall clock reaches `time` (epoch ms; checked on every tick of the
   * runner, every `TICK_INTERVAL_MS` (200 ms), or `TestDriver.advanceWallClock`): a processing-time timer, as Kafka Streams'
   * wall-clock punctuation. One per key and time; kept across restarts like the state (a timer whose time
   * passed while the job was down fires at the first tick).
   */
  setWallClockTimer(time: number): void
  /** Cancels the key's wall-clock timer at `time`, if set. */
  deleteWallClockTimer(time: number): void
  /** The key's pending wall-clock timer times, ascending. */
  wallClockTimers(): readonly number[]
  /** Sends a result downstream, with event time {@link ProcessContext.timestamp}. */
  emit(result: R): void
}

/**
 * A custom keyed operator (`keyed.process(processor)`, as Kafka Streams' Processor API or Flink's
 * `KeyedProcessFunction`): `process` is called for every record of a key with the key's state; `onTimer` when one
 * of the key's event-time timers fires, `onWallClockTimer` when one of its wall-clock (processing-time) timers does. State and timers are per key, checkpointed with the task's offsets and
 * restored on any instance, repartitioned with the keyBy. Every record reaches `process`, whatever the watermark:
 * compare `ctx.timestamp` with `ctx.watermark` to treat late records.
 *
 * The watermark may lag the records read far (it is the least over the input partitions: one partition behind,
 * or not yet idle after a start, holds it), so a timer may fire after records later than it went through
 * `process`: judge by event time (`ctx.timestamp`), not by the order of callbacks.
 *
 * @example
 * // an alert for an order not paid within 15 minutes of event time
 * const unpaid: Processor<string, OrderEvent, { due: number }, string> = {
 *   process(e, ctx) {
 *     if (e.type === 'placed') {
 *       ctx.state = { due: ctx.timestamp + 15 * 60_000 }
 *       ctx.setTimer(ctx.state.due)
 *     } else if (ctx.state && ctx.timestamp < ctx.state.due) ctx.state = undefined // paid in time
 *   },
 *   onTimer(_time, ctx) {
 *     if (ctx.state) ctx.emit(`order ${ctx.key} not paid within 15 minutes`)
 *     ctx.state = undefined
 *   },
 * }
 */
export interface Processor<K, T, S, R> {
  /** Names the operator in status and errors (default `process`). */
  readonly name?: string
  /** Called for every record of a key. */
  process(value: T, ctx: ProcessContext<K, S, R>): void
  /** Called when a timer of the key fires: the watermark reached `time`. */
  onTimer?(time: number, ctx: ProcessContext<K, S, R>): void
  /** Called when a wall-clock timer of the key fires: the wall clock reached `time`. */
  onWallClockTimer?(time: number, ctx: ProcessContext<K, S, R>): void
}
