/**
 * A `Map` whose entries live in an embedded SQLite table, with a bounded write-back cache in the heap: what a
 * bucket's `entries` are in the persistent state backend (`sqlite-state-backend.ts`). Operators use it as the
 * `Map` of the memory backend; heap use is bounded by the cache, not by the number of keys.
 */
import type { Database, Statement } from 'better-sqlite3'
import type { EntryChanges, TrackedEntries, WindowKey } from '../window-store.js'

/** A cached entry: its value (the object operators hold), whether the disk copy may be stale, and its order. */
type Cached<V> = {
  v: V
  /** Written back on eviction and before iteration: set, or read (an accumulator may be mutated in place). */
  dirty: boolean
  /** Whether a row of it exists on disk (a delete must remove it there). */
  onDisk: boolean
  /** Second chance: touched since the eviction scan last passed it. */
  ref: boolean
  /** Insertion order of the key (the order a `Map` iterates in), kept across updates, new after a delete. */
  readonly seq: number
}

/** Keys as stored: a type tag then the key (`s` string, `n` number), so `1` and `'1'` stay two keys. */
const encodeKey = (k: WindowKey): string => (typeof k === 'number' ? `n${k}` : `s${k}`)
const decodeKey = (k: string): WindowKey => (k.charCodeAt(0) === 110 ? Number(k.slice(1)) : k.slice(1))
/** Values as JSON (what a checkpoint holds of them too); `undefined` as SQL NULL. */
const encodeValue = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v))
const decodeValue = (v: string | null): unknown => (v === null ? undefined : JSON.parse(v))

type Row = { k: string; seq: number; v: string | null }

/**
 * How a {@link DiskMap} writes values that are not JSON as they are (a default map writes the value itself): as the
 * JSON of `toJson(value)`, read back with `fromJson(json, key)`.
 *
 * @example
 * const codec: DiskCodec<Set<number>> = { toJson: (s) => [...s], fromJson: (j) => new Set(j as number[]) }
 */
export type DiskCodec<V> = { toJson(value: V): unknown; fromJson(json: unknown, key: WindowKey): V }

/** Writes per transaction. */
const BATCH = 4096

/** The prepared statements every map of one database shares (one table, rows by map id). */
export class DiskTable {
  readonly get: Statement<[number, string], { seq: number; v: string | null }>
  readonly seqOf: Statement<[number, string], { seq: number }>
  readonly upsert: Statement<[number, string, number, string | null]>
  readonly remove: Statement<[number, string]>
  readonly removeAll: Statement<[number]>
  readonly page: Statement<[number, number, number], Row>
  readonly pageKeys: Statement<[number, number, number], { k: string; seq: number }>
  #nextId = 0
  /** Writes in the open transaction: committed every {@link BATCH} writes (or by {@link commit}). */
  #pending = 0

  constructor(readonly db: Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS kv (
      m INTEGER NOT NULL, k TEXT NOT NULL, seq INTEGER NOT NULL, v TEXT,
      PRIMARY KEY (m, k)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS kv_seq ON kv (m, seq);`)
    this.get = db.prepare('SELECT seq, v FROM kv WHERE m = ? AND k = ?')
    this.seqOf = db.prepare('SELECT seq FROM kv WHERE m = ? AND k = ?')
    this.upsert = db.prepare(
      'INSERT INTO kv (m, k, seq, v) VALUES (?, ?, ?, ?) ON CONFLICT (m, k) DO UPDATE SET v = excluded.v',
    )
    this.remove = db.prepare('DELETE FROM kv WHERE m = ? AND k = ?')
    this.removeAll = db.prepare('DELETE FROM kv WHERE m = ?')
    this.page = db.prepare('SELECT k, seq, v FROM kv WHERE m = ? AND seq > ? ORDER BY seq LIMIT ?')
    this.pageKeys = db.prepare('SELECT k, seq FROM kv WHERE m = ? AND seq > ? ORDER BY seq LIMIT ?')
  }

  /** Called before each write: writes go in transactions of {@link BATCH} (one page write per batch, not per row). */
  writing(): void {
    if (this.#pending === 0) this.db.exec('BEGIN')
    if (++this.#pending >= BATCH) this.commit()
  }

  /** Commits the open transaction, if any. */
  commit(): void {
    if (this.#pending > 0) {
      this.#pending = 0
      this.db.exec('COMMIT')
    }
  }

  /** A new map id: a store opened now never sees rows of one opened before. */
  nextId(): number {
    return this.#nextId++
  }
}

/**
 * The heap budget shared by every map of one backend: at most `limit` cached entries in all. A map over its fair
 * share gives up its own least recently touched entries; otherwise the map holding the most does.
 */
export class CacheBudget {
  used = 0
  readonly maps = new Set<DiskMap<unknown>>()
  constructor(readonly limit: number) {}
}

/** Rows read per query while iterating (no cursor stays open between two steps of an iteration). */
const PAGE = 512

/**
 * A `Map<WindowKey, V>` over rows of a {@link DiskTable}, with a write-back cache of recently touched entries.
 *
 * Semantics are a `Map`'s (size, insertion order of iteration, an entry deleted during iteration is not visited,
 * one added is), with one difference: a value is the same object only while it stays in the cache. `get` and
 * `set` cache the entry and count as a change (an accumulator may be mutated in place after a `get`), so a value
 * may be mutated until the cache evicts it, which takes at least `budget.limit` other entries touched since.
 * A value met by iteration but not cached is a copy read from disk: `set` it to change it.
 *
 * @example
 * const m = new DiskMap<number>(table, budget)
 * m.set('k', 1); m.get('k') // 1, from the cache or the disk
 */
export class DiskMap<V> implements TrackedEntries<V> {
  readonly #id: number
  readonly #cache = new Map<WindowKey, Cached<V>>()
  #size = 0
  #seq = 0
  /** Keys touched since the last {@link takeChanges} (undefined until change tracking is asked for). */
  #changed: Set<WindowKey> | undefined
  #cleared = false
  /** Cached keys with no row yet: written before an iteration reads a page, so it meets them in order. */
  readonly #unwritten = new Set<WindowKey>()
  /** Deletes so far: an iteration checks a row read before a delete is still there. */
  #deletes = 0
  /** The key the last `get` found on neither the cache nor the disk: a `set` of it right after needs no lookup. */
  #missed: WindowKey | undefined
  /** The eviction clock's hand (see {@link evictOne}). */
  #hand: MapIterator<[WindowKey, Cached<V>]> | undefined

  constructor(
    private readonly table: DiskTable,
    private readonly budget: CacheBudget,
    /** How values are written (default: as the JSON they are). */
    private readonly codec?: DiskCodec<V>,
  ) {
    this.#id = table.nextId()
    budget.maps.add(this as DiskMap<unknown>)
  }

  get size(): number {
    return this.#size
  }

  get [Symbol.toStringTag](): string {
    return 'DiskMap'
  }

  /** Entries held in the heap now (at most the budget's limit across every map of the backend). */
  get cached(): number {
    return this.#cache.size
  }

  get(key: WindowKey): V | undefined {
    const e = this.#cache.get(key)
    if (e !== undefined) {
      e.ref = true
      e.dirty = true
      this.#changed?.add(key)
      return e.v
    }
    const row = this.table.get.get(this.#id, encodeKey(key))
    if (row === undefined) {
      this.#missed = key
      return undefined
    }
    const v = this.#decode(row.v, key)
    this.#changed?.add(key)
    this.#admit(key, { v, dirty: true, onDisk: true, ref: true, seq: row.seq })
    return v
  }

  /** The value of a key without caching it or counting it as a change (what a checkpoint reads). */
  peek(key: WindowKey): V | undefined {
    const e = this.#cache.get(key)
    if (e !== undefined) return e.v
    const row = this.table.get.get(this.#id, encodeKey(key))
    return row === undefined ? undefined : this.#decode(row.v, key)
  }

  has(key: WindowKey): boolean {
    return this.#cache.has(key) || this.table.seqOf.get(this.#id, encodeKey(key)) !== undefined
  }

  set(key: WindowKey, value: V): this {
    this.#changed?.add(key)
    const e = this.#cache.get(key)
    if (e !== undefined) {
      e.v = value
      e.dirty = true
      e.ref = true
      return this
    }
    // get-then-set of a new key (what every aggregator does): the get just looked it up
    const row = this.#missed === key ? undefined : this.table.seqOf.get(this.#id, encodeKey(key))
    this.#missed = undefined
    if (row === undefined) {
      this.#size++
      this.#unwritten.add(key)
    }
    this.#admit(key, { v: value, dirty: true, onDisk: row !== undefined, ref: true, seq: row?.seq ?? this.#seq++ })
    return this
  }

  delete(key: WindowKey): boolean {
    const e = this.#cache.get(key)
    let existed: boolean
    if (e !== undefined) {
      this.#cache.delete(key)
      this.#unwritten.delete(key)
      this.budget.used--
      if (e.onDisk) {
        this.table.writing()
        this.table.remove.run(this.#id, encodeKey(key))
      }
      existed = true
    } else {
      this.table.writing()
      existed = this.table.remove.run(this.#id, encodeKey(key)).changes > 0
    }
    if (existed) {
      this.#deletes++
      this.#size--
      this.#changed?.add(key)
    }
    return existed
  }

  clear(): void {
    this.table.writing()
    this.table.removeAll.run(this.#id)
    this.budget.used -= this.#cache.size
    this.#cache.clear()
    this.#missed = undefined
    this.#unwritten.clear()
    this.#deletes++
    this.#size = 0
    if (this.#changed !== undefined) {
      this.#changed.clear()
      this.#cleared = true
    }
  }

  /** Writes every changed cached entry to disk (they stay cached). */
  flush(): void {
    for (const [key, e] of this.#cache) if (e.dirty) this.#writeBack(key, e)
  }

  /** Drops this map's rows and cache for good (its bucket was deleted); the map must not be used after. */
  dispose(): void {
    this.clear()
    this.budget.maps.delete(this as DiskMap<unknown>)
  }

  /**
   * The keys touched (set, read, deleted) since the previous call, and whether the map was cleared in between;
   * starts tracking on the first call (which reports every key, as changed since nothing).
   */
  takeChanges(): EntryChanges {
    if (this.#changed === undefined) {
      this.#changed = new Set()
      return { cleared: true, keys: [...this.keys()] }
    }
    const out = { cleared: this.#cleared, keys: [...this.#changed] }
    this.#changed.clear()
    this.#cleared = false
    return out
  }

  *entries(): MapIterator<[WindowKey, V]> {
    let after = -1
    for (;;) {
      this.#writeUnwritten()
      const rows = this.table.page.all(this.#id, after, PAGE)
      const deletes = this.#deletes
      for (const row of rows) {
        after = row.seq
        const key = decodeKey(row.k)
        const e = this.#cache.get(key)
        if (e !== undefined) yield [key, e.v]
        else if (this.#stillThere(row, deletes)) yield [key, this.#decode(row.v, key)]
      }
      if (rows.length < PAGE && this.#unwritten.size === 0) return // else keys were added meanwhile
    }
  }

  *keys(): MapIterator<WindowKey> {
    let after = -1
    for (;;) {
      this.#writeUnwritten()
      const rows = this.table.pageKeys.all(this.#id, after, PAGE)
      const deletes = this.#deletes
      for (const row of rows) {
        after = row.seq
        const key = decodeKey(row.k)
        if (this.#cache.has(key) || this.#stillThere(row, deletes)) yield key
      }
      if (rows.length < PAGE && this.#unwritten.size === 0) return // else keys were added meanwhile
    }
  }

  /** A row read from a page is still there: nothing was deleted since, or it was not (asked of the disk). */
  #stillThere(row: { k: string; seq: number }, deletesAtRead: number): boolean {
    return deletesAtRead === this.#deletes || this.table.seqOf.get(this.#id, row.k)?.seq === row.seq
  }

  #decode(v: string | null, key: WindowKey): V {
    const json = decodeValue(v)
    return this.codec === undefined ? (json as V) : this.codec.fromJson(json, key)
  }

  #writeUnwritten(): void {
    for (const key of this.#unwritten) {
      const e = this.#cache.get(key)
      if (e !== undefined) this.#writeBack(key, e)
    }
    this.#unwritten.clear()
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v
  }

  [Symbol.iterator](): MapIterator<[WindowKey, V]> {
    return this.entries()
  }

  forEach(callback: (value: V, key: WindowKey, map: Map<WindowKey, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this)
  }

  #writeBack(key: WindowKey, e: Cached<V>): void {
    this.table.writing()
    const v = this.codec === undefined ? e.v : this.codec.toJson(e.v)
    this.table.upsert.run(this.#id, encodeKey(key), e.seq, encodeValue(v))
    e.dirty = false
    if (!e.onDisk) {
      e.onDisk = true
      this.#unwritten.delete(key)
    }
  }

  #admit(key: WindowKey, e: Cached<V>): void {
    this.#cache.set(key, e)
    const budget = this.budget
    budget.used++
    while (budget.used > budget.limit) {
      let victim: DiskMap<unknown> = this as DiskMap<unknown>
      if (this.#cache.size <= 1 || this.#cache.size * budget.maps.size < budget.used)
        for (const m of budget.maps) if (m.cached > victim.cached) victim = m
      if (victim.cached <= 1 && victim === (this as DiskMap<unknown>)) return // nothing else to give up
      victim.evictOne()
    }
  }

  /**
   * Evicts an entry not touched since the clock hand last passed it (the clock algorithm: an approximation of
   * least recently used). The hand is an iterator kept across evictions: restarting from the start each time
   * would walk the holes deleted entries leave in the Map's table, over and over.
   */
  evictOne(): void {
    for (let turns = 0; turns < 3; ) {
      let n = this.#hand?.next()
      if (n === undefined || n.done) {
        this.#hand = this.#cache.entries()
        n = this.#hand.next()
        turns++
        if (n.done) return
      }
      const [key, e] = n.value
      if (e.ref) {
        e.ref = false
        continue
      }
      this.#cache.delete(key)
      this.#unwritten.delete(key)
      if (e.dirty) this.#writeBack(key, e)
      this.budget.used--
      return
    }
  }
}
