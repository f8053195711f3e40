import type { Rng } from '@ctr/producers'
import type { ProducerMessage } from '@ctr/streams-dsl/kafka'
import { z } from 'zod'
import type { InputGenerator } from '../harness/example.js'

/** An ad shown: the `impressions` input of click-attribution. */
export const Impression = z.object({
  impression_id: z.string().min(1),
  product_id: z.string().min(1),
  /** When it was shown, epoch ms. */
  timestamp: z.number(),
})
export type Impression = z.infer<typeof Impression>

/** A click on an ad, naming the impression it came from: the `clicks` input of click-attribution. */
export const AdClick = z.object({
  click_id: z.string().min(1),
  impression_id: z.string().min(1),
  /** When it was clicked, epoch ms. */
  timestamp: z.number(),
})
export type AdClick = z.infer<typeof AdClick>

/** Settings of {@link AdGenerator}. */
export type AdGeneratorOptions = {
  /** Impressions per second. */
  readonly rate: number
  readonly products: number
  /** Share of impressions that get a click. */
  readonly clickThrough: number
  /** How long after its impression a click comes, uniform in [min, max] ms. */
  readonly clickDelayMs: { readonly min: number; readonly max: number }
  /** Clicks per impression that name no impression ever shown (a broken tracking link). */
  readonly strays: number
}

/**
 * Simulated ads: impressions at `rate` per second, over `products` products; a share of them clicked some
 * seconds later, and a few clicks naming an impression that was never shown. `tick(now)` gives the impressions
 * due by `now`, `tickClicks(now)` the clicks due by then (clicks come out in click-time order).
 *
 * @example
 * const ads = new AdGenerator({ rate: 20, products: 8, clickThrough: 0.2, clickDelayMs: { min: 500, max: 15_000 }, strays: 0.02 }, rng, Date.now())
 */
export class AdGenerator {
  private next: number
  private seq = 0
  private pending: AdClick[] = []

  constructor(
    private readonly o: AdGeneratorOptions,
    private readonly rng: Rng,
    start: number,
  ) {
    this.next = start
  }

  tick(now: number): Impression[] {
    const out: Impression[] = []
    const gap = 1000 / this.o.rate
    for (; this.next <= now; this.next += gap) {
      const n = ++this.seq
      const timestamp = Math.floor(this.next)
      const impression: Impression = {
        impression_id: `imp-${n}`,
        product_id: `product-${Math.floor(this.rng() * this.o.products) + 1}`,
        timestamp,
      }
      out.push(impression)
      if (this.rng() < this.o.clickThrough) {
        const { min, max } = this.o.clickDelayMs
        const delay = min + Math.floor(this.rng() * (max - min + 1))
        this.pending.push({
          click_id: `click-${n}`,
          impression_id: impression.impression_id,
          timestamp: timestamp + delay,
        })
      }
      if (this.rng() < this.o.strays)
        this.pending.push({ click_id: `stray-${n}`, impression_id: `imp-never-shown-${n}`, timestamp })
    }
    return out
  }

  tickClicks(now: number): AdClick[] {
    this.pending.sort((a, b) => a.timestamp - b.timestamp)
    const due = this.pending.filter((c) => c.timestamp <= now)
    this.pending = this.pending.filter((c) => c.timestamp > now)
    return due
  }
}

/** An ad event as a Kafka message: keyed by its impression id, its time as the record timestamp. */
export const adMessage = (e: Impression | AdClick): ProducerMessage => ({
  key: e.impression_id,
  value: JSON.stringify(e),
  timestamp: e.timestamp,
})

/** The producer of an example reading ads: clicks for its first input topic, impressions for its second. */
export function adsInput(options: AdGeneratorOptions, rng: Rng, start: number): InputGenerator {
  const ads = new AdGenerator(options, rng, start)
  return {
    tick: (now) => ads.tickClicks(now).map(adMessage),
    tickSecond: (now) => ads.tick(now).map(adMessage),
  }
}

/** The impressions and clicks of `durationMs` of simulated ads from `start`, as a producer ticking every 500 ms makes them. */
export function simulateAds(
  options: AdGeneratorOptions,
  rng: Rng,
  start: number,
  durationMs: number,
): { impressions: Impression[]; clicks: AdClick[] } {
  const ads = new AdGenerator(options, rng, start)
  const impressions: Impression[] = []
  const clicks: AdClick[] = []
  for (let now = start; now <= start + durationMs; now += 500) {
    impressions.push(...ads.tick(now))
    clicks.push(...ads.tickClicks(now))
  }
  return { impressions, clicks }
}
