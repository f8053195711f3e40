import type { RawRecord } from '../connectors/types.js'
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

/** Running totals an engine reports in its status. */
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
}

/** What a window operator shares with the engine: the watermark, the current record, the counters. */
export type OperatorDeps = {
  readonly tracker: WatermarkTracker
  readonly ctx: RecordContext
  readonly counters: EngineCounters
  /** Reports the current record as late. */
  readonly late: (message: string) => void
}
