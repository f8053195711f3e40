/**
 * Test oracle of the click-attribution example: each click's impression looked up straight from the
 * generated events, sharing no code with the topology or the DSL.
 */
import type { AdClick, Impression } from './ads.js'
import type { AttributedClick } from './topology.js'

/** Every click with the impression it names when that was shown at most `windowMs` before it (else none). */
export function expectedAttribution(
  impressions: readonly Impression[],
  clicks: readonly AdClick[],
  windowMs: number,
): AttributedClick[] {
  const shown = new Map(impressions.map((i) => [i.impression_id, i]))
  return sortedClicks(
    clicks.map((c) => {
      const i = shown.get(c.impression_id)
      const hit = i !== undefined && i.timestamp <= c.timestamp && c.timestamp - i.timestamp <= windowMs
      return {
        click_id: c.click_id,
        impression_id: c.impression_id,
        product_id: hit ? i.product_id : null,
        attributed: hit,
        clicked_at: c.timestamp,
        delay_ms: hit ? c.timestamp - i.timestamp : null,
      }
    }),
  )
}

/** By click id, for comparing. */
export const sortedClicks = (cs: AttributedClick[]): AttributedClick[] =>
  [...cs].sort((a, b) => (a.click_id < b.click_id ? -1 : a.click_id > b.click_id ? 1 : 0))
