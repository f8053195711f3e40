import type { WatermarkSettings } from '../graph/topology.js'

/** What the runtime tracks per input partition. Mutable, owned by the engine. */
export type PartitionState = {
  readonly topic: string
  readonly partition: number
  /** Stable slot of this partition inside the engine (index into per-partition arrays). */
  readonly slot: number
  /** Index of the task (partition group) this partition belongs to. */
  task: number
  /** Next offset to process (one past the last record seen), or null before the first record. */
  nextOffset: number | null
  /** Greatest valid event time this partition delivered; -Infinity before the first. */
  maxEventTime: number
  /** Wall-clock time of the last valid event, or of the assignment when none arrived since. */
  lastActivity: number
  /** Wall-clock time of the last valid event; null before the first. */
  lastEventWallTime: number | null
  idle: boolean
  /** Records below this offset were seen before a restart: they rebuild state but are not new arrivals. */
  replayUntil: number
  /**
   * For an origin partition (below): the upstream instance's wall-clock time of the newest marker that reported
   * it; the all-idle advance of a downstream task runs on these times, not on its own clock. Null before one.
   */
  vouchedAt: number | null
  /**
   * True for the view of a partition upstream of a repartition topic: its watermark state arrives with the
   * repartitioned records and markers, its idleness is decided upstream, and `nextOffset` is the position up to
   * which its records were seen here (duplicates below it are dropped); it is never committed.
   */
  origin: boolean
}

/**
 * Per-partition bounded-out-of-orderness watermarks and the job watermark, exactly as docs/contract.md §2:
 * W(p) = maxEventTime(p) - B - 1; W = min W(p) over non-idle partitions; when all are idle,
 * W = max(W, M + (now - t) - B - 1); W never decreases.
 */
export class WatermarkTracker {
  /** The job watermark W; -Infinity until known. */
  watermark = Number.NEGATIVE_INFINITY
  /** M: the greatest valid event time seen on any partition. */
  maxEventTime = Number.NEGATIVE_INFINITY
  /** t: wall-clock time the last valid event arrived; null before the first. */
  lastEventWallTime: number | null = null
  readonly partitions: PartitionState[] = []
  private readonly lag: number

  constructor(
    readonly settings: WatermarkSettings,
    /** True while the source has evidence that nothing of a partition is unread (see `EngineOptions.caughtUp`). */
    private readonly caughtUp: (p: PartitionState, now: number) => boolean = () => true,
  ) {
    this.lag = settings.maxOutOfOrderness + 1
  }

  /** W(p) of a partition, -Infinity before its first valid event. */
  partitionWatermark(p: PartitionState): number {
    return p.maxEventTime - this.lag
  }

  /** Adds a partition that now counts towards W (not idle; its idle clock starts now). */
  add(p: PartitionState): void {
    this.partitions.push(p)
  }

  /** Removes a partition from W; returns true when W advanced. */
  remove(p: PartitionState, now: number): boolean {
    const i = this.partitions.indexOf(p)
    if (i >= 0) this.partitions.splice(i, 1)
    return this.recompute(now)
  }

  /**
   * Records a valid event (called after the event was judged against the old W). Returns true when W advanced.
   * Kept allocation-free: this runs once per event.
   */
  observe(p: PartitionState, ts: number, now: number): boolean {
    p.lastActivity = now
    p.lastEventWallTime = now
    p.idle = false
    this.lastEventWallTime = now
    if (ts > this.maxEventTime) this.maxEventTime = ts
    if (ts <= p.maxEventTime) return false
    const before = p.maxEventTime - this.lag
    p.maxEventTime = ts
    // Only a partition at (or below) the current W can move it.
    if (before > this.watermark) return false
    return this.recompute(now)
  }

  /** Records a replayed event: it may rebuild W(p) and M, but it is not a new arrival (idle clocks and t stay). */
  observeReplayed(p: PartitionState, ts: number, now: number): boolean {
    if (ts > this.maxEventTime) this.maxEventTime = ts
    if (ts <= p.maxEventTime) return false
    p.maxEventTime = ts
    return this.recompute(now)
  }

  /**
   * Re-evaluates idleness at `now` and the all-idle advance; returns true when W advanced. A partition silent
   * for the idle timeout is idle exactly while the source has evidence that it holds nothing unread.
   */
  refresh(now: number): boolean {
    const timeout = this.settings.idleTimeout
    for (const p of this.partitions) if (!p.origin && now - p.lastActivity >= timeout) p.idle = this.caughtUp(p, now)
    return this.recompute(now)
  }

  /**
   * Applies what the upstream stage reports of an origin partition: its max event time so far (never lowered),
   * whether it is idle, the wall-clock time of its last valid event, and `at`, the upstream's wall-clock time of
   * the report (null: a data record, which vouches for nothing but activity). W is not recomputed: apply every
   * origin of a report, then {@link settle} once (a half-applied report could look all-idle).
   */
  mark(
    p: PartitionState,
    maxEventTime: number,
    idle: boolean,
    lastEventWallTime: number | null,
    at: number | null,
    now: number,
  ): void {
    if (maxEventTime > p.maxEventTime) p.maxEventTime = maxEventTime
    if (maxEventTime > this.maxEventTime) this.maxEventTime = maxEventTime
    if (!idle) p.lastActivity = now
    p.idle = idle
    if (at !== null && (p.vouchedAt === null || at > p.vouchedAt)) p.vouchedAt = at
    if (lastEventWallTime !== null) {
      if (p.lastEventWallTime === null || lastEventWallTime > p.lastEventWallTime)
        p.lastEventWallTime = lastEventWallTime
      if (this.lastEventWallTime === null || lastEventWallTime > this.lastEventWallTime)
        this.lastEventWallTime = lastEventWallTime
    }
  }

  /** Recomputes W after {@link mark}s; returns true when it advanced. */
  settle(now: number): boolean {
    return this.recompute(now)
  }

  /** True when there is at least one partition and every one is idle. */
  allIdle(): boolean {
    if (this.partitions.length === 0) return false
    for (const p of this.partitions) if (!p.idle) return false
    return true
  }

  private recompute(now: number): boolean {
    if (this.partitions.length === 0) return false
    let min = Number.POSITIVE_INFINITY
    // the clock of the all-idle advance: ours, or for origins the upstream time of their newest report
    let clock = now
    for (const p of this.partitions) {
      if (!p.idle) {
        if (p.maxEventTime - this.lag < min) min = p.maxEventTime - this.lag
      } else if (p.origin) clock = Math.min(clock, p.vouchedAt ?? Number.NEGATIVE_INFINITY)
    }
    if (min === Number.POSITIVE_INFINITY) {
      // every partition is idle: event time follows the wall clock from the last valid event
      if (this.lastEventWallTime === null || clock === Number.NEGATIVE_INFINITY) return false
      min = this.maxEventTime + (clock - this.lastEventWallTime) - this.lag
    }
    if (min > this.watermark) {
      this.watermark = min
      return true
    }
    return false
  }
}
