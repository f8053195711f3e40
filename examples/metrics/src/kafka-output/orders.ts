import { Pacer, type Rng } from '@ctr/producers'
import { between, zipfPicker } from '../common/pick.js'

/** A generated order. */
export type SimulatedOrder = {
  readonly order_id: string
  readonly category: string
  readonly amount_cents: number
  readonly timestamp: number
}

/** The categories of the simulated shop, most ordered first, with their price range in cents. */
export const CATEGORIES: readonly { readonly name: string; readonly cents: { min: number; max: number } }[] = [
  { name: 'grocery', cents: { min: 199, max: 6_000 } },
  { name: 'books', cents: { min: 499, max: 4_000 } },
  { name: 'toys', cents: { min: 999, max: 8_000 } },
  { name: 'garden', cents: { min: 1_499, max: 25_000 } },
  { name: 'electronics', cents: { min: 4_999, max: 90_000 } },
]

/** How the simulated shop sells. */
export type OrderOptions = {
  /** Orders per second. */
  readonly rate: number
  /** Share of orders that reach Kafka late, stamped 3-12 s before they are sent (a phone back online). */
  readonly delayed: number
}

/**
 * Orders at a steady rate over {@link CATEGORIES}. Pure apart from its own state and the random source.
 *
 * @example
 * const gen = new OrderGenerator({ rate: 20, delayed: 0.03 }, mulberry32(7), Date.now())
 * gen.tick(Date.now()) // the orders due by now
 */
export class OrderGenerator {
  readonly #pacer: Pacer
  readonly #category: () => number
  #sent = 0

  constructor(
    private readonly options: OrderOptions,
    private readonly rng: Rng,
    start: number,
  ) {
    this.#pacer = new Pacer(options.rate, start)
    this.#category = zipfPicker(CATEGORIES.length, 1, rng)
  }

  /** The orders due by `now`: stamped `now`, or some seconds before for a delayed one. */
  tick(now: number): SimulatedOrder[] {
    return Array.from({ length: this.#pacer.due(now) }, () => {
      const c = CATEGORIES[this.#category()] as (typeof CATEGORIES)[number]
      const delayed = this.rng() < this.options.delayed
      return {
        order_id: `o-${++this.#sent}`,
        category: c.name,
        amount_cents: between(this.rng, c.cents.min, c.cents.max),
        timestamp: delayed ? now - between(this.rng, 3_000, 12_000) : now,
      }
    })
  }
}
