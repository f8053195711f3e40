/**
 * What the CTR job and the HTTP API must agree on (docs/contract.md §1 and §3), in one place: the rule for a
 * `product_id`, the Redis keys the job writes and the API reads, and the result JSON. Zod and plain values only,
 * so the API imports it (`@ctr/ctr-topology/contract`) without any of the job's runtime code.
 */
import { z } from 'zod'

/** Longest product id, in Unicode characters (code points, as JSON Schema's `maxLength` counts), docs/contract.md §1.2. */
export const MAX_PRODUCT_ID_LENGTH = 128

/**
 * Why `id` is not a valid product id (a phrase to follow the field name, e.g. `must not be empty`), or `null`.
 * Valid: 1 to 128 code points, none of them a control character (C0 U+0000-U+001F, DEL, C1 U+0080-U+009F) or
 * an unpaired UTF-16 surrogate. Anything else (slashes, spaces, `%`, emoji, `__proto__`) is an ordinary id.
 *
 * @example
 * productIdRule('p-17') // null
 * productIdRule('a\u0000b') // 'must not contain control characters'
 */
export function productIdRule(id: string): string | null {
  const n = id.length
  if (n === 0) return 'must not be empty'
  // A code point is one or two UTF-16 units: more than 2 * 128 units is too long whatever they are.
  if (n > 2 * MAX_PRODUCT_ID_LENGTH) return TOO_LONG
  let points = 0
  // One pass over the UTF-16 units: the per-record path of the job runs this for every event.
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return 'must not contain control characters'
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = id.charCodeAt(i + 1) // NaN past the end
      if (c >= 0xdc00 || !(next >= 0xdc00 && next <= 0xdfff)) return NOT_UNICODE
      i++ // a surrogate pair is one code point
    }
    points++
  }
  return points > MAX_PRODUCT_ID_LENGTH ? TOO_LONG : null
}

const TOO_LONG = `must be at most ${MAX_PRODUCT_ID_LENGTH} characters`
const NOT_UNICODE = 'must be valid Unicode (no unpaired surrogates)'

/**
 * A product id (see {@link productIdRule}). The job decodes events with it (an invalid one is a dead letter
 * `invalid_event`); the API validates its `{product_id}` path parameter with it (400 `invalid_product_id`).
 *
 * @example
 * ProductId.safeParse('😀'.repeat(128)).success // true: 128 characters
 */
export const ProductId = z
  .string()
  .superRefine((id, ctx) => {
    const problem = productIdRule(id)
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, input: id })
  })
  .meta({
    description: `Product id: 1 to ${MAX_PRODUCT_ID_LENGTH} characters (code points), no control characters`,
    minLength: 1,
    maxLength: MAX_PRODUCT_ID_LENGTH,
  })

/** The Redis keys of docs/contract.md §3 and the ones the job adds under `ctr:`. */
export const REDIS_KEYS = {
  /** Hash `product_id` -> result JSON of the product's most recent window. */
  latest: 'ctr:latest',
  /** Hash `product_id` -> result JSON of the window before that one. */
  previous: 'ctr:previous',
  /** Pub/Sub channel: the job publishes a result's JSON whenever it changed `latest` or `previous`. */
  updates: 'ctr:updates',
  /** Prefix of the per-product history, a sorted set `ctr:history:<product_id>` scored by window_start. */
  historyPrefix: 'ctr:history:',
} as const

/**
 * The Redis key of a product's history.
 *
 * @example
 * historyKey('p-17') // 'ctr:history:p-17'
 */
export function historyKey(productId: string): string {
  return `${REDIS_KEYS.historyPrefix}${productId}`
}

/**
 * One window's result for one product, the JSON the job stores in `ctr:latest` / `ctr:previous`
 * (docs/contract.md §3.2). Parsing keeps only these fields; readers that pass extra fields through use `CtrResult.loose()`.
 *
 * @example
 * CtrResult.parse({ product_id: 'p-17', impressions: 120, clicks: 7, ctr: 7 / 120, window_start: 0, window_end: 10_000 })
 */
export const CtrResult = z.object({
  product_id: ProductId,
  impressions: z.number().int().min(0),
  clicks: z.number().int().min(0),
  ctr: z.number().nullable().meta({ description: 'clicks / impressions, unrounded; null when impressions is 0' }),
  window_start: z.number().int().meta({ description: 'window start, epoch ms (inclusive)' }),
  window_end: z.number().int().meta({ description: 'window end, epoch ms (exclusive)' }),
})

/** What the job stores per product and window (docs/contract.md §3). */
export type CtrResult = Readonly<z.output<typeof CtrResult>>
