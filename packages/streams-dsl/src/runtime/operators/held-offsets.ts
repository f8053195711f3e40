import type { WindowBucket, WindowStore } from '../../state/window-store.js'
import { MinHeap } from './min-heap.js'

/** A bucket as this index holds it: held while its store still holds that very bucket. */
type Entry = { readonly store: WindowStore<unknown>; readonly bucket: WindowBucket<unknown> }

/**
 * The lowest offset per partition slot among the buckets an operator still holds, kept incrementally: a
 * min-heap of offsets per slot, each with its bucket, entries of purged buckets dropped when they reach the top.
 * For operators that hold many small buckets (a join's records by time), where going over every bucket on every
 * operation (`lowestOffsetsOfStores`) would cost more than the records themselves.
 *
 * @example
 * held.add(store, bucket, slot, offset) // as a bucket takes its first record of a slot
 * held.lower(low)                       // on every operation: low[slot] = min(low[slot], lowest held)
 */
export class HeldOffsets {
  private readonly heaps: MinHeap<Entry>[] = []

  /** Notes that `bucket` of `store` holds `offset` of `slot` (the bucket's lowest of that slot). */
  add(store: WindowStore<unknown>, bucket: WindowBucket<unknown>, slot: number, offset: number): void {
    let h = this.heaps[slot]
    if (h === undefined) {
      h = new MinHeap<Entry>()
      this.heaps[slot] = h
    }
    h.push(offset, { store, bucket })
  }

  /** Lowers `low[slot]` to the lowest offset of each slot still held. */
  lower(low: number[]): void {
    this.heaps.forEach((h, slot) => {
      for (;;) {
        const e = h.minValue
        if (e === undefined) return
        if (e.store.get(e.bucket.start) === e.bucket) break
        h.popIfAtMost(Number.POSITIVE_INFINITY) // purged (or its task dropped): not held any more
      }
      const o = h.minKey
      if (low[slot] === undefined || o < (low[slot] as number)) low[slot] = o
    })
  }

  /** Forgets everything (before a restore rebuilds it from the stores). */
  clear(): void {
    this.heaps.length = 0
  }

  /** Notes every bucket of `store` with its lowest offsets (after a restore). */
  addAll(store: WindowStore<unknown>): void {
    for (const b of store.values())
      b.minOffsets.forEach((o, slot) => {
        if (o !== undefined) this.add(store, b, slot, o)
      })
  }
}
