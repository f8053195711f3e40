import { Pacer, type Rng } from '@ctr/producers'
import { zipfPicker } from '../common/pick.js'

/** A generated click, in the CTR pipeline's click format. */
export type SimulatedClick = {
  readonly event_id: string
  readonly product_id: string
  readonly user_id: string
  readonly timestamp: number
}

/** How the simulated shoppers click. */
export type ClickOptions = {
  /** Clicks per second. */
  readonly rate: number
  /** Products `p-1` .. `p-N`. */
  readonly products: number
  readonly users: number
  /** Every this long the popularity moves on by one product, so the ranking changes (0: never). */
  readonly trendEveryMs: number
}

/**
 * Clicks at a steady rate on products of Zipf-like popularity (a few get most clicks), the favourite
 * changing every `trendEveryMs`. Pure apart from its own state and the random source.
 *
 * @example
 * const gen = new ClickGenerator({ rate: 100, products: 50, users: 1000, trendEveryMs: 120_000 }, mulberry32(7), Date.now())
 * gen.tick(Date.now()) // the clicks due by now
 */
export class ClickGenerator {
  readonly #pacer: Pacer
  readonly #product: () => number
  #sent = 0

  constructor(
    private readonly options: ClickOptions,
    private readonly rng: Rng,
    start: number,
  ) {
    this.#pacer = new Pacer(options.rate, start)
    this.#product = zipfPicker(options.products, 1, rng)
  }

  /** The clicks due by `now`, stamped `now`. */
  tick(now: number): SimulatedClick[] {
    const o = this.options
    const shift = o.trendEveryMs > 0 ? Math.floor(now / o.trendEveryMs) : 0
    return Array.from({ length: this.#pacer.due(now) }, () => ({
      event_id: `c-${++this.#sent}`,
      product_id: `p-${1 + ((this.#product() + shift) % o.products)}`,
      user_id: `u-${1 + Math.floor(this.rng() * o.users)}`,
      timestamp: now,
    }))
  }
}
