/** The in-memory {@link SessionStore}: a Map from key to that key's sessions. */
import type { SessionBucket, SessionStore } from './session-store.js'
import type { WindowKey } from './window-store.js'

/**
 * Sessions in a Map by key (or in the Map given: the persistent backend's lives on disk).
 *
 * @example
 * const store = new MemorySessionStore<number>()
 */
export class MemorySessionStore<A> implements SessionStore<A> {
  constructor(
    /** Each key's sessions (default: an empty Map). */
    private readonly byKey: Map<WindowKey, SessionBucket<A>[]> = new Map(),
  ) {}

  get(key: WindowKey): SessionBucket<A>[] | undefined {
    return this.byKey.get(key)
  }

  set(key: WindowKey, sessions: SessionBucket<A>[]): void {
    this.byKey.set(key, sessions)
  }

  delete(key: WindowKey): void {
    this.byKey.delete(key)
  }

  lists(): IterableIterator<SessionBucket<A>[]> {
    return this.byKey.values()
  }

  buckets(): SessionBucket<A>[] {
    const all: SessionBucket<A>[] = []
    for (const list of this.byKey.values()) all.push(...list)
    return all.sort((a, b) => a.start - b.start || a.end - b.end)
  }

  clear(): void {
    this.byKey.clear()
  }
}
