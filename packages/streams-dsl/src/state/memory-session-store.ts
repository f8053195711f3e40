/** The in-memory {@link SessionStore}: a Map from key to that key's sessions. */
import type { SessionBucket, SessionStore } from './session-store.js'
import type { WindowKey } from './window-store.js'

/**
 * Sessions in a Map by key.
 *
 * @example
 * const store = new MemorySessionStore<SessionBucket<number>>()
 */
export class MemorySessionStore<S extends SessionBucket<unknown>> implements SessionStore<S> {
  private readonly byKey = new Map<WindowKey, S[]>()

  get(key: WindowKey): S[] | undefined {
    return this.byKey.get(key)
  }

  set(key: WindowKey, sessions: S[]): void {
    this.byKey.set(key, sessions)
  }

  delete(key: WindowKey): void {
    this.byKey.delete(key)
  }

  lists(): IterableIterator<S[]> {
    return this.byKey.values()
  }

  buckets(): S[] {
    const all: S[] = []
    for (const list of this.byKey.values()) all.push(...list)
    return all.sort((a, b) => a.start - b.start || a.end - b.end)
  }

  clear(): void {
    this.byKey.clear()
  }
}
