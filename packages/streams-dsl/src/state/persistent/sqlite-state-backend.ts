/**
 * The persistent state backend: every bucket's entries in one embedded SQLite file (better-sqlite3), with a
 * bounded write-back cache in the heap, so a task may hold more keys than the heap would. Loaded only from
 * `@ctr/streams-dsl/state` (the native addon is an optional peer dependency).
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { MemorySessionStore } from '../memory-session-store.js'
import { MemoryWindowStore } from '../memory-window-store.js'
import type { SessionBucket } from '../session-store.js'
import type { StateBackend } from '../state-backend.js'
import type { WindowKey } from '../window-store.js'
import { CacheBudget, type DiskCodec, DiskMap, DiskTable } from './disk-map.js'

/** A session as a row holds it (its key is the row's; no `entries`, derived from key and acc). */
type StoredSession = { start: number; end: number; acc: unknown; minOffsets: (number | null)[]; fired: boolean }

/** A key's sessions as a row: JSON turns the holes of the sparse `minOffsets` into nulls, read back as holes. */
const sessionsJson: DiskCodec<SessionBucket<unknown>[]> = {
  toJson: (list) => list.map(({ start, end, acc, minOffsets, fired }) => ({ start, end, acc, minOffsets, fired })),
  fromJson: (json, key: WindowKey) =>
    (json as StoredSession[]).map(({ start, end, acc, minOffsets: stored, fired }) => {
      const minOffsets: number[] = []
      stored.forEach((o, slot) => {
        if (o !== null) minOffsets[slot] = o
      })
      return { key, start, end, acc, minOffsets, fired, entries: new Map([[key, acc]]) }
    }),
}

/**
 * Options of {@link sqliteStateBackend}.
 *
 * @example
 * sqliteStateBackend({ dir: '/var/lib/ctr-job', cacheEntries: 200_000 })
 */
export type SqliteStateOptions = {
  /** Directory of the state file (created if missing; default the OS temp directory). */
  readonly dir?: string
  /**
   * Entries kept in the heap, across every store of the backend (default 100 000; at least 64). Each touched
   * key's accumulator stays here until it is the least recently touched; evicted ones are written to disk.
   */
  readonly cacheEntries?: number
  /** SQLite's own page cache, MiB (outside the JS heap; default 32). */
  readonly pageCacheMiB?: number
}

/**
 * A {@link StateBackend} over one SQLite file, with its file and a `close` that deletes it.
 *
 * @example
 * const state = sqliteStateBackend({ dir: './state' })
 * process.on('exit', () => state.close())
 */
export type SqliteStateBackend = StateBackend & {
  /** The state file (a working copy: deleted by `close`, never read back; the checkpoints are what is durable). */
  readonly path: string
  /** Entries in the heap cache now, across every store. */
  cachedEntries(): number
  /** Writes every changed cached entry to disk and commits (the state then survives the heap cache being dropped). */
  flush(): void
  /** Closes the database and deletes its file. The stores must not be used after. */
  close(): void
}

/**
 * A state backend for state larger than the heap: each window bucket's entries (every key's accumulator) and
 * each key's sessions in an embedded SQLite file, the most recently touched `cacheEntries` of them in the heap.
 * Window, session-window and all-time state (tables, running aggregates, `process()` state, dedupe, joins) go to
 * disk. What stays on the heap is small per window or session: a bucket's bounds and offsets; a session's timers
 * (its key and bounds) and its lowest offsets, counted.
 *
 * The file is a working copy, not a durable store: it starts empty, and the engine restores it from the
 * checkpoints as it would memory. Values must be JSON (as checkpoints need anyway); an accumulator object stays
 * the one operators mutate only while it is cached.
 *
 * @example
 * import { sqliteStateBackend } from '@ctr/streams-dsl/state'
 * const state = sqliteStateBackend({ dir: './state', cacheEntries: 50_000 })
 * const engine = createEngine(topology, { state })
 */
export function sqliteStateBackend(options: SqliteStateOptions = {}): SqliteStateBackend {
  const dir = options.dir ?? tmpdir()
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `ctr-state-${process.pid}-${randomUUID().slice(0, 8)}.sqlite`)
  const db = new Database(path)
  // a scratch file: no journal, no fsync; one connection holds it
  db.pragma('journal_mode = OFF')
  db.pragma('synchronous = OFF')
  db.pragma('locking_mode = EXCLUSIVE')
  db.pragma('temp_store = MEMORY')
  db.pragma(`cache_size = -${Math.round((options.pageCacheMiB ?? 32) * 1024)}`)
  const table = new DiskTable(db)
  const budget = new CacheBudget(Math.max(64, Math.floor(options.cacheEntries ?? 100_000)))
  return {
    name: 'sqlite',
    path,
    // the buckets (bounds, fired, offsets) in the heap, their entries in DiskMaps
    windowStore: <A>() =>
      new MemoryWindowStore<A>(
        () => new DiskMap<A>(table, budget),
        (entries) => (entries as DiskMap<A>).dispose(),
      ),
    // each key's list of sessions one entry of a DiskMap
    sessionStore: <A>() =>
      new MemorySessionStore<A>(
        new DiskMap<SessionBucket<A>[]>(table, budget, sessionsJson as DiskCodec<SessionBucket<A>[]>),
      ),
    cachedEntries: () => budget.used,
    flush: () => {
      for (const m of budget.maps) m.flush()
      table.commit()
    },
    close: () => {
      if (!db.open) return
      db.close()
      rmSync(path, { force: true })
    },
  }
}
