import type { ProducerConfig } from './config.js'
import { type MalformedKind, malformedRecord } from './malformed.js'
import { productCtr, productId } from './products.js'
import type { Rng } from './rng.js'

/** The CTR job's time parameters (docs/contract.md §2), used to stamp late events on purpose. */
export const JOB_TIME = { windowMs: 10_000, outOfOrdernessMs: 3_000, allowedLatenessMs: 5_000 } as const

/**
 * What a generated record is meant to test. `late` lands in a window that has fired but is within
 * allowed lateness (a late firing); `too_late` in one already past it (DLQ `late_event`).
 */
export type EventKind = 'in_order' | 'out_of_order' | 'late' | 'too_late' | 'malformed'

/** A record ready to produce: which stream, its key (`product_id`, or null) and its JSON value. */
export type OutRecord = {
  readonly stream: 'impressions' | 'clicks'
  readonly key: string | null
  readonly value: string
  readonly kind: EventKind
  /** For `malformed` records: what is wrong with it. */
  readonly malformed?: MalformedKind
}

/** The settings the generator reads. */
export type GeneratorOptions = Pick<
  ProducerConfig,
  'products' | 'users' | 'ctr' | 'clickDelayMs' | 'outOfOrder' | 'outOfOrderMaxMs' | 'late' | 'tooLate' | 'malformed'
> & { readonly runId: string }

type PendingClick = { due: number; productId: string; userId: string; impressionId: string }

/** Margin kept from the estimated watermark so that late/too-late events are so whatever the job's lag. */
const MARGIN_MS = 1_000

/**
 * Generates impressions and clicks: pure apart from its own state, driven by the caller's clock and
 * random source, so tests can replay it exactly.
 *
 * Each impression draws a click with its product's true CTR; the click is stamped up to
 * `clickDelayMs` later and emitted when the clock reaches that time. Then each record is, with the
 * configured shares, made malformed, too late, late or out of order (in that order of precedence).
 *
 * @example
 * const gen = new EventGenerator({ ...opts, runId: 'r1' }, mulberry32(42))
 * const records = gen.tick(Date.now(), 100) // 100 impressions and the clicks due now
 */
export class EventGenerator {
  readonly #ctrs: readonly number[]
  #pending: PendingClick[] = []
  #impressions = 0
  #clicks = 0

  constructor(
    private readonly opts: GeneratorOptions,
    private readonly rng: Rng,
  ) {
    this.#ctrs = Array.from({ length: opts.products }, (_, i) => productCtr(i, opts.products, opts.ctr))
  }

  /** Clicks drawn but not yet emitted (their time has not come). */
  get pendingClicks(): number {
    return this.#pending.length
  }

  /** Emits `impressions` impressions stamped `now`, and every pending click due by `now`. */
  tick(now: number, impressions: number): OutRecord[] {
    const out: OutRecord[] = []
    for (let n = 0; n < impressions; n++) {
      const i = Math.floor(this.rng() * this.opts.products)
      const event = {
        event_id: `${this.opts.runId}-i${++this.#impressions}`,
        product_id: productId(i),
        user_id: `u-${1 + Math.floor(this.rng() * this.opts.users)}`,
        timestamp: now,
      }
      if (this.rng() < (this.#ctrs[i] ?? 0)) {
        const due = now + Math.floor(this.rng() * (this.opts.clickDelayMs + 1))
        this.#pending.push({ due, productId: event.product_id, userId: event.user_id, impressionId: event.event_id })
      }
      out.push(this.#finish('impressions', event, now))
    }
    const due = this.#pending.filter((c) => c.due <= now)
    if (due.length > 0) this.#pending = this.#pending.filter((c) => c.due > now)
    for (const c of due) {
      const event = {
        event_id: `${this.opts.runId}-c${++this.#clicks}`,
        product_id: c.productId,
        user_id: c.userId,
        timestamp: c.due,
        impression_id: c.impressionId,
      }
      out.push(this.#finish('clicks', event, now))
    }
    return out
  }

  #finish(stream: OutRecord['stream'], event: { product_id: string; timestamp: number }, now: number): OutRecord {
    const { malformed, tooLate, late, outOfOrder, outOfOrderMaxMs } = this.opts
    const r = this.rng()
    let kind: EventKind = 'in_order'
    if (r < malformed) {
      return { stream, kind: 'malformed', ...malformedRecord(event, now, this.rng) }
    } else if (r < malformed + tooLate) {
      event.timestamp = tooLateTimestamp(now, this.rng)
      kind = 'too_late'
    } else if (r < malformed + tooLate + late) {
      const ts = lateTimestamp(now, this.rng)
      if (ts !== null) {
        event.timestamp = ts
        kind = 'late'
      }
    } else if (r < malformed + tooLate + late + outOfOrder) {
      event.timestamp -= 1 + Math.floor(this.rng() * outOfOrderMaxMs)
      kind = 'out_of_order'
    }
    return { stream, key: event.product_id, value: JSON.stringify(event), kind }
  }
}

/**
 * A time in a window that has fired but is within allowed lateness, judged against the watermark
 * this producer's clock implies (`now - B - 1`); null when no window is in that state right now
 * (each window is in it for L = 5 s of every S = 10 s).
 */
export function lateTimestamp(now: number, rng: Rng): number | null {
  const { windowMs: S, outOfOrdernessMs: B, allowedLatenessMs: L } = JOB_TIME
  // Fired: end - 1 <= W (with a margin for the job's lag). Not purged: W < end - 1 + L.
  const end = Math.floor((now - B - MARGIN_MS) / S) * S
  if (end <= now - B - L) return null
  return end - S + Math.floor(rng() * S)
}

/** A time in a window already past allowed lateness by at least a second (up to three windows back). */
export function tooLateTimestamp(now: number, rng: Rng): number {
  const { windowMs: S, outOfOrdernessMs: B, allowedLatenessMs: L } = JOB_TIME
  const end = Math.floor((now - B - L - MARGIN_MS) / S) * S - S * Math.floor(rng() * 3)
  return end - S + Math.floor(rng() * S)
}
