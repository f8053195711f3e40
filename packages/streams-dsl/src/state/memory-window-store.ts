/** The in-memory {@link WindowStore}: a Map by window start. */
import type { WindowBucket, WindowStore } from './window-store.js'

/**
 * Window state in a Map by window start.
 *
 * @example
 * const store = new MemoryWindowStore<number>()
 */
export class MemoryWindowStore<A> implements WindowStore<A> {
  private readonly byStart = new Map<number, WindowBucket<A>>()

  get(start: number): WindowBucket<A> | undefined {
    return this.byStart.get(start)
  }

  getOrCreate(start: number, end: number): WindowBucket<A> {
    let b = this.byStart.get(start)
    if (b === undefined) {
      b = { start, end, entries: new Map(), minOffsets: [], fired: false }
      this.byStart.set(start, b)
    }
    return b
  }

  delete(start: number): void {
    this.byStart.delete(start)
  }

  clear(): void {
    this.byStart.clear()
  }

  values(): Iterable<WindowBucket<A>> {
    return this.byStart.values()
  }

  buckets(): WindowBucket<A>[] {
    return [...this.byStart.values()].sort((a, b) => a.start - b.start)
  }

  get size(): number {
    return this.byStart.size
  }
}
