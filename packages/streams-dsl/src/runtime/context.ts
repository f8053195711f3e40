import type { RawRecord } from '../connectors/types.js'
import type { StateBackend } from '../state/state-backend.js'
import type { PartitionState, WatermarkTracker } from './watermarks.js'

/**
 * The record being processed, shared by the compiled operators instead of passing (and allocating)
 * an envelope per value. Mutable, owned by one engine.
 */
export type RecordContext = {
  /** Event time of the value flowing now (for window results: window end - 1). */
  ts: number
  record: RawRecord | null
  partition: PartitionState | null
}

/**
 * Where a value an operator emits from its state (not from the record being read) comes from, for the
 * operators after it: task 0, no partition slot. Only topologies that key such values again reach an operator
 * with it, and they run as one task (`chainedKeyBys`), so task 0 is theirs.
 */
export const DERIVED_PARTITION = Object.freeze({ task: 0, slot: -1 }) as unknown as PartitionState

/**
 * The partition of the value flowing now, for an operator's state: the record's, or {@link DERIVED_PARTITION}
 * for a value emitted from state while no record is read (a firing on a tick, a restore).
 */
export function partitionOf(ctx: RecordContext): PartitionState {
  return ctx.partition ?? DERIVED_PARTITION
}

/** Sets `minOffsets[slot]` to the offset of the record being read unless set, or unless no record is read. */
export function noteOffset(ctx: RecordContext, minOffsets: number[], slot: number): void {
  const rec = ctx.record
  if (rec !== null && slot >= 0 && minOffsets[slot] === undefined) minOffsets[slot] = rec.offset
}

/**
 * Running totals a job reports in its status (`/status`, `TestDriver.status()`).
 *
 * @example
 * d.status().counters // { eventsIn: 120034, late: 3, deadLetters: 5, windowsEmitted: 9120, lateFirings: 2, duplicatesDropped: 0 }
 */
export type EngineCounters = {
  /** Records delivered to the engine (valid or not). */
  eventsIn: number
  /** Events dropped for arriving after their window's allowed lateness. */
  late: number
  /** Records sent to the dead letters (late events included). */
  deadLetters: number
  /** Window results emitted (late firings included). */
  windowsEmitted: number
  /** Window results emitted after the window had fired. */
  lateFirings: number
  /** Records dropped by a `deduplicate` operator as duplicates of a record it kept (not dead letters). */
  duplicatesDropped: number
}

/** What an operator shares with the engine: the watermark, the current record, the counters, the state backend. */
export type OperatorDeps = {
  /** Where the operator opens its stores (one per task). */
  readonly state: StateBackend
  readonly tracker: WatermarkTracker
  readonly ctx: RecordContext
  readonly counters: EngineCounters
  /** Reports the current record as late. */
  readonly late: (message: string) => void
}
