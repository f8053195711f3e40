/**
 * The state a session-window operator keeps per task: each key's sessions. A session is a window bucket of
 * one key, so the snapshot, the status and the committable offsets read it like any window.
 */
import type { WindowBucket, WindowKey } from './window-store.js'

/**
 * One session of one key: a window bucket holding that key only, with its accumulator at hand.
 *
 * @example
 * const s: SessionBucket<number> = { key: 'u1', start: 0, end: 30_000, acc: 1, entries: new Map([['u1', 1]]), minOffsets: [], fired: false }
 */
export type SessionBucket<A> = WindowBucket<A> & { readonly key: WindowKey; acc: A }

/**
 * Sessions of one session operator in one task, by key. A store may hand out copies (a persistent backend's
 * may, once a key's sessions left its heap cache): a session is changed by `set`ting its key's list again,
 * never by changing an object a store handed out earlier. Backends pass the shared contract suite in
 * `state-backend.case.ts`.
 *
 * @example
 * const store: SessionStore<number> = new MemorySessionStore()
 */
export interface SessionStore<A> {
  /** The sessions of a key, as last set (the operator keeps them in ascending start order), if any. */
  get(key: WindowKey): SessionBucket<A>[] | undefined
  /** Replaces the sessions of a key (a non-empty list). */
  set(key: WindowKey, sessions: SessionBucket<A>[]): void
  /** Removes a key's sessions. */
  delete(key: WindowKey): void
  /** Every key's list of sessions. */
  lists(): IterableIterator<SessionBucket<A>[]>
  /** Every session of every key, by ascending start, then end. */
  buckets(): SessionBucket<A>[]
  /** Removes every session (the task moved to another instance). */
  clear(): void
}
