import { MinHeap } from './min-heap.js'

/**
 * The lowest offset per partition slot among what an operator holds, kept incrementally by counting: each held
 * thing's lowest offsets are added when it is stored and removed when it goes, so nothing needs to be found again
 * (the session operator's sessions may live on disk, and objects read back from there are copies). Per slot, a
 * count per offset and a min-heap of the offsets counted; an offset whose count fell to zero leaves the heap when
 * it reaches the top.
 *
 * @example
 * held.add(session.minOffsets)    // as a session is stored
 * held.remove(merged.minOffsets)  // as one is merged away or purged
 * held.lower(low)                 // on every operation: low[slot] = min(low[slot], lowest held)
 */
export class OffsetCounts {
  private readonly counts: Map<number, number>[] = []
  private readonly heaps: MinHeap<null>[] = []

  /** Counts the offsets of `minOffsets` (sparse, by slot) as held once more. */
  add(minOffsets: readonly number[]): void {
    minOffsets.forEach((o, slot) => {
      if (o === undefined) return
      let counts = this.counts[slot]
      if (counts === undefined) {
        counts = new Map()
        this.counts[slot] = counts
        this.heaps[slot] = new MinHeap()
      }
      const n = counts.get(o)
      // an offset stays in the heap (with its count, maybe 0) until it reaches the top: pushed once
      if (n === undefined) (this.heaps[slot] as MinHeap<null>).push(o, null)
      counts.set(o, (n ?? 0) + 1)
    })
  }

  /** Counts the offsets of `minOffsets` as held once less (each was added before). */
  remove(minOffsets: readonly number[]): void {
    minOffsets.forEach((o, slot) => {
      const counts = this.counts[slot]
      const n = counts?.get(o)
      if (n !== undefined && n > 0) counts?.set(o, n - 1)
    })
  }

  /** Lowers `low[slot]` to the lowest offset of each slot still held. */
  lower(low: number[]): void {
    this.heaps.forEach((h, slot) => {
      const counts = this.counts[slot] as Map<number, number>
      while (h.size > 0 && counts.get(h.minKey) === 0) {
        counts.delete(h.minKey)
        h.popIfAtMost(Number.POSITIVE_INFINITY)
      }
      if (h.size === 0) return
      const o = h.minKey
      if (low[slot] === undefined || o < (low[slot] as number)) low[slot] = o
    })
  }

  /** Forgets everything. */
  clear(): void {
    this.counts.length = 0
    this.heaps.length = 0
  }
}
