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
   * True for the view of a partition upstream of a repartition topic: its watermark state arrives with the
   * repartitioned records and markers, its idleness is decided upstream, and `nextOffset` is the position up to
   * which its records were seen here (duplicates below it are dropped); it is never committed.
   */
  origin: boolean
}

/**
 * Per-partition bounded-out-of-orderness watermarks and the job watermark, exactly as CONTRACTS.md §2:
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
    /** True while the source knows records of a partition are waiting to be read: such a partition is not idle. */
    private readonly backlogged: (p: PartitionState) => boolean = () => false,
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

  /** Re-evaluates idleness at `now` and the all-idle wall-clock advance; returns true when W advanced. */
  refresh(now: number): boolean {
    const timeout = this.settings.idleTimeout
    for (const p of this.partitions)
      if (!p.idle && !p.origin && now - p.lastActivity >= timeout && !this.backlogged(p)) p.idle = true
    return this.recompute(now)
  }

  /**
   * Applies what the upstream stage reports of an origin partition: its max event time so far (never lowered),
   * whether it is idle, and the wall-clock time of its last valid event. Returns true when W advanced.
   */
  mark(p: PartitionState, maxEventTime: number, idle: boolean, lastEventWallTime: number | null, now: number): boolean {
    if (maxEventTime > p.maxEventTime) p.maxEventTime = maxEventTime
    if (maxEventTime > this.maxEventTime) this.maxEventTime = maxEventTime
    if (!idle) p.lastActivity = now
    p.idle = idle
    if (lastEventWallTime !== null) {
      if (p.lastEventWallTime === null || lastEventWallTime > p.lastEventWallTime)
        p.lastEventWallTime = lastEventWallTime
      if (this.lastEventWallTime === null || lastEventWallTime > this.lastEventWallTime)
        this.lastEventWallTime = lastEventWallTime
    }
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
    for (const p of this.partitions) if (!p.idle && p.maxEventTime - this.lag < min) min = p.maxEventTime - this.lag
    if (min === Number.POSITIVE_INFINITY) {
      // every partition is idle: event time follows the wall clock from the last valid event
      if (this.lastEventWallTime === null) return false
      min = this.maxEventTime + (now - this.lastEventWallTime) - this.lag
    }
    if (min > this.watermark) {
      this.watermark = min
      return true
    }
    return false
  }
}
