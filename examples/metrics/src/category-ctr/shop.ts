import type { Rng } from '@ctr/producers'
import { z } from 'zod'

/** An ad shown or clicked: the events input of category-ctr, keyed by product. */
export const AdEvent = z.object({
  type: z.enum(['impression', 'click']),
  product_id: z.string().min(1),
  /** Epoch ms. */
  timestamp: z.number(),
})
export type AdEvent = z.infer<typeof AdEvent>

/** A product of the catalogue: the products table, keyed by product id (a compacted topic). */
export const Product = z.object({
  product_id: z.string().min(1),
  category: z.string().min(1),
  /** When this version of the product took effect, epoch ms. */
  updated_at: z.number(),
})
export type Product = z.infer<typeof Product>

/** Settings of {@link ShopGenerator}. */
export type ShopOptions = {
  /** Impressions per second. */
  readonly rate: number
  readonly products: number
  readonly categories: readonly string[]
  /** Share of impressions clicked (at the same time). */
  readonly clickThrough: number
  /** A product moves to another category about this often (ms of event time); 0: never. */
  readonly moveEveryMs: number
  /** Products never put in the catalogue (their events stay uncategorised). */
  readonly unlisted: number
}

/**
 * A simulated shop: the catalogue at the start (a version per product at `start`), a product moved to another
 * category now and then, and impressions over every product (the unlisted ones too), some clicked. `tick(now)`
 * gives the events due by `now`, `tickCatalogue(now)` the catalogue versions due by then.
 *
 * @example
 * const shop = new ShopGenerator({ rate: 20, products: 12, categories: ['shoes', 'hats'], clickThrough: 0.1, moveEveryMs: 20_000, unlisted: 1 }, rng, Date.now())
 */
export class ShopGenerator {
  private next: number
  private nextMove: number
  private readonly category: string[]
  private versions: Product[] = []

  constructor(
    private readonly o: ShopOptions,
    private readonly rng: Rng,
    start: number,
  ) {
    this.next = start
    this.nextMove = start + o.moveEveryMs
    this.category = Array.from({ length: o.products }, (_, i) => o.categories[i % o.categories.length] as string)
    for (let i = 0; i < o.products - o.unlisted; i++)
      this.versions.push({ product_id: id(i), category: this.category[i] as string, updated_at: start })
  }

  tick(now: number): AdEvent[] {
    const out: AdEvent[] = []
    for (; this.next <= now; this.next += 1000 / this.o.rate) {
      const timestamp = Math.floor(this.next)
      if (this.o.moveEveryMs > 0 && timestamp >= this.nextMove) {
        this.nextMove += this.o.moveEveryMs
        const listed = this.o.products - this.o.unlisted
        const i = Math.floor(this.rng() * listed)
        const moved = this.o.categories[
          (this.o.categories.indexOf(this.category[i] as string) + 1) % this.o.categories.length
        ] as string
        this.category[i] = moved
        this.versions.push({ product_id: id(i), category: moved, updated_at: timestamp })
      }
      const product_id = id(Math.floor(this.rng() * this.o.products))
      out.push({ type: 'impression', product_id, timestamp })
      if (this.rng() < this.o.clickThrough) out.push({ type: 'click', product_id, timestamp })
    }
    return out
  }

  tickCatalogue(now: number): Product[] {
    const due = this.versions.filter((p) => p.updated_at <= now)
    this.versions = this.versions.filter((p) => p.updated_at > now)
    return due
  }
}

const id = (i: number): string => `product-${i + 1}`
