import type { Rng } from '@ctr/producers'
import type { SimulatedClick } from '../top-products/clicks.js'

/** How often and how late a producer with retries sends a click again. */
export type RetryOptions = {
  /** The share of clicks sent again (each copy may be retried again with the same chance, at most twice). */
  readonly rate: number
  /** How long after the first send a copy goes out, at most (uniform from 100 ms). */
  readonly maxDelayMs: number
}

/**
 * What a producer with retries puts on the topic: every click, and for some of them copies a little later — the
 * same click (same `event_id`, same event time) sent again because an acknowledgement was lost. Pure apart from
 * its own state and the random source.
 *
 * @example
 * const retries = new Retries({ rate: 0.1, maxDelayMs: 5_000 }, mulberry32(7))
 * retries.tick(now, clicks.tick(now)) // the clicks due by now, first sends and copies
 */
export class Retries {
  #pending: { due: number; click: SimulatedClick; copy: number }[] = []

  constructor(
    private readonly options: RetryOptions,
    private readonly rng: Rng,
  ) {}

  /** The copies due by `now`, then the fresh `clicks` (some of which are scheduled to go out again). */
  tick(now: number, clicks: readonly SimulatedClick[]): SimulatedClick[] {
    const due = this.#pending.filter((p) => p.due <= now)
    this.#pending = this.#pending.filter((p) => p.due > now)
    for (const p of due) this.#maybeRetry(now, p.click, p.copy + 1)
    for (const c of clicks) this.#maybeRetry(now, c, 1)
    return [...due.map((p) => p.click), ...clicks]
  }

  /** Copies scheduled and not yet sent. */
  get pending(): number {
    return this.#pending.length
  }

  #maybeRetry(now: number, click: SimulatedClick, copy: number): void {
    if (copy > 2 || this.rng() >= this.options.rate) return
    const delay = 100 + Math.floor(this.rng() * (this.options.maxDelayMs - 100))
    this.#pending.push({ due: now + delay, click, copy })
  }
}
