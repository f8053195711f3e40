/**
 * A reference model of docs/contract.md §2, written straight from the text and sharing no code with the engine.
 * Slow and simple on purpose: windows keep their raw contributions, results are recomputed from scratch,
 * the watermark is recomputed from every partition after every event. Used by the property tests only.
 */

/** One record as the model sees it: a valid keyed event, or something the decoder rejects. */
export type ModelRecord =
  | { kind: 'event'; key: string; ts: number | null } // null: no timestamp in the payload, the record timestamp counts
  | { kind: 'tombstone'; key: string } // a null value: deletes a table's row, a dead letter on a stream
  | { kind: 'bad_json' }
  | { kind: 'bad_event' }

/** The parameters of the model: window size and hop, B, L, idle timeout, future skew, emit mode. */
export type ModelParams = {
  size: number // window size S
  advance: number // hop (= size for tumbling)
  B: number // max out-of-orderness
  L: number // allowed lateness
  idleTimeout: number
  futureSkew: number
  emit: 'onClose' | 'onUpdate'
  /** Session windows with gap = size (Flink's: sessions that overlap or touch merge). */
  session?: boolean
  /** Sliding windows with time difference D = size (Kafka Streams' SlidingWindows): [t - D, t] per record time t. */
  sliding?: boolean
  /**
   * Instead of windows, an interval join of topic a (left) with topic b (right) by key: a left record at t pairs
   * with a right one at u when t - before <= u <= t + after; `left`: a left join.
   */
  join?: { before: number; after: number; left: boolean }
  /**
   * Instead of windows, a stream-table join: topic a a stream, topic b a table keyed by key (values: their
   * record ids, a tombstone deleting the row); each record of a joined with its key's row as of its time.
   */
  tableJoin?: { left: boolean }
  /** Instead of windows, a count per key over all time: every event emits `key:count`. */
  running?: boolean
}

/** A table version (value: the id of the record that set it; null: deleted), or a record waiting for W. */
type TableHeld = { key: string; ts: number; value: string | null; p: string; offset: number }

/** A record a join holds: its side, key, time, where it came from, and (left) whether it found a pair. */
type JoinHeld = { side: 'a' | 'b'; key: string; ts: number; p: string; offset: number; matched: boolean }

/** A window result as the model emits it. */
export type ModelResult = { key: string; start: number; end: number; count: number; lateFiring: boolean }
/** A dead letter as the model records it. */
export type ModelDeadLetter = { reason: string; topic: string; partition: number; offset: number }

type Partition = {
  maxEventTime: number
  lastActivity: number
  nextOffset: number
  readonly id: string
}
type Held = { records: ModelRecord[]; recordTimestamp: number }
type Win = { key: string; start: number; end: number; contributions: { p: string; offset: number }[]; fired: boolean }

/** The model: feed it batches and wall-clock advances, read results, dead letters, W and committable offsets. */
export class ReferenceModel {
  now: number
  W = Number.NEGATIVE_INFINITY
  M = Number.NEGATIVE_INFINITY
  t: number | null = null
  readonly partitions = new Map<string, Partition>()
  readonly windows: Win[] = []
  /** Sliding windows: the records accepted, kept until W >= ts + D + L (the last window they can be in is purged). */
  readonly stored: { key: string; ts: number; p: string; offset: number }[] = []
  readonly results: ModelResult[] = []
  /** Join results, `key|left id|right id` (`-`: an unmatched left record), ids `topic:partition:offset`. */
  readonly joined: string[] = []
  /** Join: the records held, each until nothing that could pair with it can arrive any more. */
  readonly held: JoinHeld[] = []
  /** Stream-table join: the table's versions kept, and the stream records waiting for W to reach their time. */
  readonly versions: TableHeld[] = []
  readonly waiting: TableHeld[] = []
  /** Running counts: per key, and the first offset of each partition that was counted (held as state, forever). */
  readonly counts = new Map<string, number>()
  readonly countedFrom = new Map<string, number>()
  readonly deadLetters: ModelDeadLetter[] = []
  /**
   * Partitions cut off (broker unreachable, fetches failing, paused): nothing of them is read, and they are never
   * idle; with the batches produced to them meanwhile, read when they recover.
   */
  readonly cut = new Map<string, Held[]>()

  constructor(
    readonly params: ModelParams,
    startTime: number,
  ) {
    this.now = startTime
  }

  /** A restart (restore or replay): every known partition gets a fresh idle clock. */
  restart(): void {
    for (const p of this.partitions.values()) p.lastActivity = this.now
  }

  assign(topic: string, partition: number): void {
    const id = `${topic}:${partition}`
    if (!this.partitions.has(id))
      this.partitions.set(id, {
        maxEventTime: Number.NEGATIVE_INFINITY,
        lastActivity: this.now,
        nextOffset: 0,
        id,
      })
  }

  /**
   * "Idle when it delivered no valid event for idleTimeout AND the job has evidence that it holds nothing
   * unread ... a partition the job cannot read is never idle."
   */
  private isIdle(p: Partition): boolean {
    return this.now - p.lastActivity >= this.params.idleTimeout && !this.cut.has(p.id)
  }

  /** The partition cannot be read from now on (the cause does not matter to §2). */
  outage(topic: string, partition: number): void {
    const id = `${topic}:${partition}`
    if (!this.cut.has(id)) this.cut.set(id, [])
    this.updateWatermark()
  }

  /** It can be read again: what was produced meanwhile is read now, in order. */
  recover(topic: string, partition: number): void {
    const id = `${topic}:${partition}`
    const held = this.cut.get(id)
    if (!held) return
    this.cut.delete(id)
    for (const h of held) this.batch(topic, partition, h.records, h.recordTimestamp)
    this.updateWatermark()
  }

  /** "W = min W(p) over non-idle partitions; all idle: W = max(W, M + (now - t) - B - 1); never decreases." */
  private updateWatermark(): void {
    if (this.partitions.size === 0) return
    const active = [...this.partitions.values()].filter((p) => !this.isIdle(p))
    let candidate: number
    if (active.length > 0) candidate = Math.min(...active.map((p) => p.maxEventTime - this.params.B - 1))
    else if (this.t !== null) candidate = this.M + (this.now - this.t) - this.params.B - 1
    else return
    this.W = Math.max(this.W, candidate)
    this.fireAndPurge()
  }

  private count(w: Win): number {
    return w.contributions.length
  }

  private fireAndPurge(): void {
    const due = this.windows.filter((w) => !w.fired && this.W >= w.end - 1).sort((a, b) => a.end - b.end)
    for (const w of due) {
      w.fired = true
      if (this.params.emit === 'onClose')
        this.results.push({ key: w.key, start: w.start, end: w.end, count: this.count(w), lateFiring: false })
    }
    for (let i = this.windows.length - 1; i >= 0; i--) {
      const w = this.windows[i] as Win
      if (this.W >= w.end - 1 + this.params.L) this.windows.splice(i, 1)
    }
    if (this.params.tableJoin) {
      // "a record waits until W >= t", then is joined; then "per key, the newest version at or before W - L is
      // kept (dropped too when it is a deletion), and every later one"
      for (const w of [...this.waiting].sort((x, y) => x.ts - y.ts)) {
        if (this.W < w.ts) continue
        this.waiting.splice(this.waiting.indexOf(w), 1)
        this.tableLookup(w.key, w.value as string, w.ts)
      }
      for (const key of new Set(this.versions.map((v) => v.key))) {
        const old = this.versions.filter((v) => v.key === key && v.ts <= this.W - this.params.L)
        if (old.length === 0) continue
        const newest = old.reduce((a, b) => (b.ts > a.ts ? b : a))
        for (const v of old) if (v !== newest || v.value === null) this.versions.splice(this.versions.indexOf(v), 1)
      }
    }
    const j = this.params.join
    if (j)
      for (const h of [...this.held].sort((x, y) => x.ts - y.ts)) {
        const purge = h.ts + (h.side === 'a' ? j.after : j.before) + this.params.L
        if (this.W < purge) continue
        this.held.splice(this.held.indexOf(h), 1)
        if (h.side === 'a' && j.left && !h.matched) this.joined.push(`${h.key}|${h.p}:${h.offset}|-`)
      }
    for (let i = this.stored.length - 1; i >= 0; i--) {
      const r = this.stored[i] as (typeof this.stored)[number]
      if (this.W >= r.ts + this.params.size + this.params.L) this.stored.splice(i, 1)
    }
  }

  /** Every window [start, start + size) with start a multiple of `advance` that contains ts. */
  private windowsOf(ts: number): number[] {
    const starts: number[] = []
    for (
      let s = Math.floor(ts / this.params.advance) * this.params.advance;
      s > ts - this.params.size;
      s -= this.params.advance
    )
      starts.unshift(s)
    return starts
  }

  /** Records produced to a partition: read at once, or held while the partition cannot be read. */
  batch(topic: string, partition: number, records: ModelRecord[], recordTimestamp: number): void {
    const held = this.cut.get(`${topic}:${partition}`)
    if (held) {
      held.push({ records, recordTimestamp })
      return
    }
    this.assign(topic, partition)
    this.updateWatermark()
    const id = `${topic}:${partition}`
    const p = this.partitions.get(id) as Partition
    for (const r of records) {
      const offset = p.nextOffset++
      const dead = (reason: string) => this.deadLetters.push({ reason, topic, partition, offset })
      const tableTopic = this.params.tableJoin !== undefined && topic === 'b'
      if (r.kind === 'tombstone' && !tableTopic) dead('invalid_json')
      else if (r.kind === 'bad_json') dead('invalid_json')
      else if (r.kind === 'bad_event') dead('invalid_event')
      else {
        const ts = r.kind === 'tombstone' ? recordTimestamp : (r.ts ?? recordTimestamp)
        if (ts > this.now + this.params.futureSkew) {
          dead('future_timestamp')
          continue
        }
        // judged against W as it stands before this event
        let added = false
        if (this.params.running) {
          // "every record updates its key's result and emits it at once; nothing is late"
          const n = (this.counts.get(r.key) ?? 0) + 1
          this.counts.set(r.key, n)
          this.joined.push(`${r.key}:${n}`)
          if (!this.countedFrom.has(id)) this.countedFrom.set(id, offset)
          added = true
        } else if (this.params.tableJoin)
          added = this.addToTableJoin(
            tableTopic,
            r.key,
            ts,
            r.kind === 'tombstone' ? null : `${id}:${offset}`,
            id,
            offset,
          )
        else if (this.params.join) added = this.addToJoin(topic as 'a' | 'b', r.key, ts, id, offset)
        else if (this.params.session) added = this.addToSession(r.key, ts, { p: id, offset })
        else if (this.params.sliding) added = this.addToSliding(r.key, ts, { p: id, offset })
        else
          for (const start of this.windowsOf(ts)) {
            const end = start + this.params.size
            if (this.W >= end - 1 + this.params.L) continue
            added = true
            let w = this.windows.find((x) => x.key === r.key && x.start === start)
            if (!w) {
              w = { key: r.key, start, end, contributions: [], fired: this.W >= end - 1 }
              this.windows.push(w)
            }
            w.contributions.push({ p: id, offset })
            const late = this.W >= end - 1
            if (late || this.params.emit === 'onUpdate')
              this.results.push({ key: r.key, start, end, count: this.count(w), lateFiring: late })
          }
        if (!added) dead('late_event')
        p.maxEventTime = Math.max(p.maxEventTime, ts)
        p.lastActivity = this.now
        this.M = Math.max(this.M, ts)
        this.t = this.now
        this.updateWatermark()
      }
    }
  }

  /** Session windows: merge the event's [ts, ts + gap) with the key's sessions it overlaps or touches. */
  private addToSession(key: string, ts: number, contribution: { p: string; offset: number }): boolean {
    const merged = this.windows.filter((w) => w.key === key && w.start <= ts + this.params.size && ts <= w.end)
    const start = Math.min(ts, ...merged.map((w) => w.start))
    const end = Math.max(ts + this.params.size, ...merged.map((w) => w.end))
    if (this.W >= end - 1 + this.params.L) return false
    for (const w of merged) this.windows.splice(this.windows.indexOf(w), 1)
    const w: Win = {
      key,
      start,
      end,
      contributions: [...merged.flatMap((m) => m.contributions), contribution],
      fired: this.W >= end - 1,
    }
    this.windows.push(w)
    if (w.fired || this.params.emit === 'onUpdate')
      this.results.push({ key, start, end, count: this.count(w), lateFiring: w.fired })
    return true
  }

  /**
   * Sliding windows, from the text: "a record of key k at time t is late when W >= t + D + L; otherwise it is
   * accepted: it updates every held window of k ending in [t, t + D] and, when k has no window ending at t and
   * W < t + L, creates it from every accepted record of k in [t - D, t]."
   */
  private addToSliding(key: string, ts: number, contribution: { p: string; offset: number }): boolean {
    const D = this.params.size
    const mine = this.windows.filter((w) => w.key === key)
    const own = mine.find((w) => w.end - 1 === ts)
    const later = mine.filter((w) => w.end - 1 > ts && w.end - 1 <= ts + D).sort((a, b) => a.end - b.end)
    if (this.W >= ts + D + this.params.L) return false
    const opensOwn = !own && this.W < ts + this.params.L
    this.stored.push({ key, ts, ...contribution })
    const touched: Win[] = []
    if (own) {
      own.contributions.push(contribution)
      touched.push(own)
    } else if (opensOwn) {
      const w: Win = {
        key,
        start: ts - D,
        end: ts + 1,
        contributions: this.stored
          .filter((r) => r.key === key && r.ts >= ts - D && r.ts <= ts)
          .map((r) => ({ p: r.p, offset: r.offset })),
        fired: this.W >= ts,
      }
      this.windows.push(w)
      touched.push(w)
    }
    for (const w of later) {
      w.contributions.push(contribution)
      touched.push(w)
    }
    for (const w of touched)
      if (w.fired || this.params.emit === 'onUpdate')
        this.results.push({ key, start: w.start, end: w.end, count: this.count(w), lateFiring: w.fired })
    return true
  }

  /**
   * The interval join, from the text: "a record at t is late when W >= t + L; otherwise it pairs with every
   * record the other side holds for its key within the interval, and is held: a left record until
   * W >= t + after + L, a right one until W >= u + before + L; a left join emits a left record that found no
   * pair when it is purged."
   */
  private addToJoin(side: 'a' | 'b', key: string, ts: number, p: string, offset: number): boolean {
    const j = this.params.join as NonNullable<ModelParams['join']>
    if (this.W >= ts + this.params.L) return false
    const me: JoinHeld = { side, key, ts, p, offset, matched: false }
    for (const h of this.held) {
      if (h.key !== key || h.side === side) continue
      const [l, r] = side === 'a' ? [me, h] : [h, me]
      if (r.ts < l.ts - j.before || r.ts > l.ts + j.after) continue
      l.matched = true
      this.joined.push(`${key}|${l.p}:${l.offset}|${r.p}:${r.offset}`)
    }
    this.held.push(me)
    return true
  }

  /**
   * The stream-table join, from the text: "a record, or a table change, at t is late when W >= t + L. A change
   * sets its key's version at t (a later one at the same t replaces it). A record is joined with the newest
   * version of its key at or before t, once W >= t (at once if W >= t already); with none, or a deletion, an
   * inner join drops it and a left join keeps it without a row."
   */
  private addToTableJoin(
    table: boolean,
    key: string,
    ts: number,
    value: string | null,
    p: string,
    offset: number,
  ): boolean {
    if (this.W >= ts + this.params.L) return false
    if (table) {
      const same = this.versions.findIndex((v) => v.key === key && v.ts === ts)
      if (same >= 0) this.versions.splice(same, 1)
      this.versions.push({ key, ts, value, p, offset })
    } else if (this.W >= ts) this.tableLookup(key, value as string, ts)
    else this.waiting.push({ key, ts, value, p, offset })
    return true
  }

  private tableLookup(key: string, id: string, ts: number): void {
    const before = this.versions.filter((v) => v.key === key && v.ts <= ts)
    const row = before.length === 0 ? null : before.reduce((a, b) => (b.ts > a.ts ? b : a)).value
    if (row !== null) this.joined.push(`${key}|${id}|${row}`)
    else if (this.params.tableJoin?.left) this.joined.push(`${key}|${id}|-`)
  }

  advanceWallClock(ms: number): void {
    this.now += ms
    this.updateWatermark()
  }

  /** Per partition that has records: min(next offset, lowest offset contributing to a window not purged). */
  committable(): Map<string, number> {
    const out = new Map<string, number>()
    for (const [id, p] of this.partitions) if (p.nextOffset > 0) out.set(id, p.nextOffset)
    for (const w of this.windows)
      for (const c of w.contributions) if (c.offset < (out.get(c.p) ?? Number.POSITIVE_INFINITY)) out.set(c.p, c.offset)
    for (const c of this.stored) if (c.offset < (out.get(c.p) ?? Number.POSITIVE_INFINITY)) out.set(c.p, c.offset)
    for (const c of this.held) if (c.offset < (out.get(c.p) ?? Number.POSITIVE_INFINITY)) out.set(c.p, c.offset)
    for (const [p, offset] of this.countedFrom)
      if (offset < (out.get(p) ?? Number.POSITIVE_INFINITY)) out.set(p, offset)
    for (const c of [...this.versions, ...this.waiting])
      if (c.offset < (out.get(c.p) ?? Number.POSITIVE_INFINITY)) out.set(c.p, c.offset)
    return out
  }
}
