/** The in-memory {@link WindowStore}: a Map by window start. */
import type { WindowBucket, WindowKey, WindowStore } from './window-store.js'

/**
 * Window buckets in a Map by window start, each bucket's entries a Map (or what `newEntries` makes: the persistent
 * backend's entries live on disk, the buckets' bounds and offsets here).
 *
 * @example
 * const store = new MemoryWindowStore<number>()
 */
export class MemoryWindowStore<A> implements WindowStore<A> {
  private readonly byStart = new Map<number, WindowBucket<A>>()

  constructor(
    /** The entries of a new bucket (default: an empty Map). */
    private readonly newEntries: () => Map<WindowKey, A> = () => new Map(),
    /** Releases the entries of a bucket removed (`delete`, `clear`); default: nothing to release. */
    private readonly release?: (entries: Map<WindowKey, A>) => void,
  ) {}

  get(start: number): WindowBucket<A> | undefined {
    return this.byStart.get(start)
  }

  getOrCreate(start: number, end: number): WindowBucket<A> {
    let b = this.byStart.get(start)
    if (b === undefined) {
      b = { start, end, entries: this.newEntries(), minOffsets: [], fired: false }
      this.byStart.set(start, b)
    }
    return b
  }

  delete(start: number): void {
    const b = this.byStart.get(start)
    if (b === undefined) return
    this.release?.(b.entries)
    this.byStart.delete(start)
  }

  clear(): void {
    if (this.release) for (const b of this.byStart.values()) this.release(b.entries)
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
