import type { CtrResult } from './contract.js'

/** The shape the windowed aggregation emits: the product, the window and the two sums. */
export type WindowedCounts = {
  readonly key: string
  readonly window: { readonly start: number; readonly end: number }
  readonly value: { readonly impressions: number; readonly clicks: number }
}

/**
 * Turns a window's sums into the result JSON.
 *
 * @example
 * toCtrResult({ key: 'p-1', window: { start: 0, end: 10_000 }, value: { impressions: 4, clicks: 1 } }).ctr // 0.25
 */
export function toCtrResult({ key, window, value }: WindowedCounts): CtrResult {
  const { impressions, clicks } = value
  return {
    product_id: key,
    impressions,
    clicks,
    ctr: impressions === 0 ? null : clicks / impressions,
    window_start: window.start,
    window_end: window.end,
  }
}
