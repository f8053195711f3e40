/**
 * The window state a window operator keeps per task: buckets by window start, each holding every key's
 * accumulator. Backends come from a `StateBackend` (state-backend.ts); they all pass `stateBackendContract`.
 */

/**
 * Grouping key of a window (and of all-time state): what `keyBy` returned.
 *
 * @example
 * const key: WindowKey = 'product-42'
 */
export type WindowKey = string | number

/**
 * The state of one window across keys: the accumulators, whether it has fired, and the lowest input offset
 * per partition slot that contributed to it (so offsets are committed only past purged state).
 *
 * @example
 * const b = store.getOrCreate(0, 10_000)
 * b.entries.set('p-1', (b.entries.get('p-1') ?? 0) + 1)
 */
export type WindowBucket<A> = {
  readonly start: number
  readonly end: number
  readonly entries: Map<WindowKey, A>
  /** Lowest contributing offset per partition slot (sparse). */
  readonly minOffsets: number[]
  fired: boolean
}

/**
 * Window state of one window operator in one task. Backends (in memory now; persistent ones later) all pass
 * the shared contract suite in `state-backend.case.ts`.
 *
 * @example
 * const store: WindowStore<number> = new MemoryWindowStore()
 * store.getOrCreate(0, 10_000).entries.set('p-1', 3)
 */
export interface WindowStore<A> {
  /** The bucket of the window starting at `start`, if any. */
  get(start: number): WindowBucket<A> | undefined
  /** The bucket of `[start, end)`, created empty (not fired) when missing. */
  getOrCreate(start: number, end: number): WindowBucket<A>
  /** Removes a window's state. */
  delete(start: number): void
  /** Every bucket, in ascending start order. */
  buckets(): WindowBucket<A>[]
  /** Every bucket, in no particular order, without copying (cheap: for what is computed on every operation). */
  values(): Iterable<WindowBucket<A>>
  /** Removes every window's state (the task moved to another instance). */
  clear(): void
  /** Number of buckets. */
  readonly size: number
}

/**
 * The keys of bucket entries touched since they were last asked (`cleared`: every key before them is gone): what an
 * incremental checkpoint writes of them.
 */
export type EntryChanges = { readonly cleared: boolean; readonly keys: readonly WindowKey[] }

/**
 * Bucket entries that track their changes (the persistent backend's); a snapshot writes only those (see
 * `runtime/snapshot.ts`). The memory backend's plain Maps track nothing: their buckets are written whole.
 */
export interface TrackedEntries<A> extends Map<WindowKey, A> {
  /** The changes since the previous call (the first call reports every key), and starts over. */
  takeChanges(): EntryChanges
  /** A key's value without counting as a change. */
  peek(key: WindowKey): A | undefined
}

/** Whether a bucket's entries track their changes. */
export const tracksChanges = <A>(entries: Map<WindowKey, A>): entries is TrackedEntries<A> =>
  typeof (entries as Partial<TrackedEntries<A>>).takeChanges === 'function'
