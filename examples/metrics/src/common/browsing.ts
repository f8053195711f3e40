import type { Rng } from '@ctr/producers'
import type { PageView } from './page-view.js'
import { between, zipfPicker } from './pick.js'

/** A range of whole numbers, both ends included. */
export type Range = { readonly min: number; readonly max: number }

/** How simulated users browse. */
export type BrowsingOptions = {
  /** Users `u-1` .. `u-N`. */
  readonly users: number
  /** The pages, most popular first (Zipf, s = 1). */
  readonly pages: readonly string[]
  /** Views in one visit. */
  readonly viewsPerVisit: Range
  /** Time between two views of a visit, ms. */
  readonly viewGapMs: Range
  /** Time between two visits of a user, ms. */
  readonly pauseMs: Range
}

/** A generated view: a {@link PageView} with its event time in epoch ms. */
export type SimulatedView = PageView & { readonly timestamp: number }

type User = { readonly id: string; next: number; left: number }

/**
 * Simulated users browsing a site in visits: a few views some seconds apart, then a pause, then another
 * visit. Pure apart from its own state and the random source, so a seed replays the same views.
 *
 * @example
 * const gen = new BrowsingGenerator(options, mulberry32(7), Date.now())
 * gen.tick(Date.now()) // the views due by now, in time order, each stamped with its own time
 */
export class BrowsingGenerator {
  readonly #users: User[]
  readonly #page: () => number

  constructor(
    private readonly options: BrowsingOptions,
    private readonly rng: Rng,
    start: number,
  ) {
    this.#page = zipfPicker(options.pages.length, 1, rng)
    // staggered starts, so the first visits do not all begin at once
    this.#users = Array.from({ length: options.users }, (_, i) => ({
      id: `u-${i + 1}`,
      next: start + between(rng, 0, options.pauseMs.max),
      left: between(rng, options.viewsPerVisit.min, options.viewsPerVisit.max),
    }))
  }

  /** Every view due by `now`, oldest first, stamped with the time it was due. */
  tick(now: number): SimulatedView[] {
    const out: SimulatedView[] = []
    const o = this.options
    for (const u of this.#users) {
      while (u.next <= now) {
        out.push({ page: o.pages[this.#page()] as string, user_id: u.id, timestamp: u.next })
        if (--u.left > 0) {
          u.next += between(this.rng, o.viewGapMs.min, o.viewGapMs.max)
        } else {
          u.left = between(this.rng, o.viewsPerVisit.min, o.viewsPerVisit.max)
          u.next += between(this.rng, o.pauseMs.min, o.pauseMs.max)
        }
      }
    }
    return out.sort((a, b) => a.timestamp - b.timestamp)
  }
}

/** The pages of the simulated shop, most popular first. */
export const SHOP_PAGES: readonly string[] = [
  '/',
  '/search',
  '/products/p-1',
  '/products/p-2',
  '/cart',
  '/products/p-3',
  '/products/p-4',
  '/checkout',
  '/products/p-5',
  '/account',
  '/products/p-6',
  '/help',
]
