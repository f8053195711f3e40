import { z } from '@hono/zod-openapi'

/** Longest product id the API accepts, in Unicode characters (code points), as in CONTRACTS.md §1. */
export const MAX_PRODUCT_ID_LENGTH = 128

// C0 and C1 control characters and DEL (NUL included); lone UTF-16 surrogates (from `%ED%A0%80`-like input).
const CONTROL = /\p{Cc}/u
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Why a product id is invalid, or `null` when it is valid: empty, longer than 128 characters, or containing
 * control characters (NUL included) or unpaired surrogates. Anything else (slashes, spaces, unicode) is valid.
 *
 * @example
 * productIdProblem('p-17') // null
 * productIdProblem('') // 'product_id must not be empty'
 */
export function productIdProblem(id: string): string | null {
  if (id.length === 0) return 'product_id must not be empty'
  // Code points, not UTF-16 units: JSON Schema's maxLength counts characters the same way.
  if (id.length > MAX_PRODUCT_ID_LENGTH && [...id].length > MAX_PRODUCT_ID_LENGTH)
    return `product_id must be at most ${MAX_PRODUCT_ID_LENGTH} characters`
  if (CONTROL.test(id)) return 'product_id must not contain control characters'
  if (LONE_SURROGATE.test(id)) return 'product_id must be valid Unicode'
  return null
}

/** A product id path parameter (see {@link productIdProblem} for the rules). */
export const ProductIdParam = z
  .string()
  .superRefine((id, ctx) => {
    const problem = productIdProblem(id)
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })
  .openapi({
    param: { name: 'product_id', in: 'path' },
    description: 'Product id: 1 to 128 characters, no control characters. URL-encode it (a `/` is `%2F`).',
    minLength: 1,
    maxLength: MAX_PRODUCT_ID_LENGTH,
    example: 'p-17',
  })

/** Path parameters of the per-product routes. */
export const ProductParams = z.object({ product_id: ProductIdParam })

/** One window's result for one product, as the job writes it to Redis (CONTRACTS.md §3); extra fields pass through. */
export const CtrResult = z
  .looseObject({
    product_id: z.string(),
    impressions: z.number().int().min(0),
    clicks: z.number().int().min(0),
    ctr: z.number().nullable().openapi({ description: 'clicks / impressions, unrounded; null when impressions is 0' }),
    window_start: z.number().int().openapi({ description: 'window start, epoch ms (inclusive)' }),
    window_end: z.number().int().openapi({ description: 'window end, epoch ms (exclusive)' }),
  })
  .openapi('CtrResult', {
    example: {
      product_id: 'p-17',
      impressions: 120,
      clicks: 7,
      ctr: 0.058333333333333334,
      window_start: 1764330000000,
      window_end: 1764330010000,
    },
  })

/** A result as parsed from Redis. */
export type CtrResult = z.infer<typeof CtrResult>

/** `product_id -> result` map of `/ctr/latest` and `/ctr/previous`. */
export const CtrResultMap = z.record(z.string(), CtrResult).openapi('CtrResultMap', {
  description: 'product_id -> result; {} when there is none',
})

/** Body of `GET /ctr/{product_id}`. */
export const ProductCtr = z
  .object({
    product_id: z.string(),
    latest: CtrResult.nullable(),
    previous: CtrResult.nullable(),
    ctr_change: z
      .number()
      .nullable()
      .openapi({ description: 'latest.ctr - previous.ctr; null when either is missing or null' }),
  })
  .openapi('ProductCtr')

/** Body of `GET /ctr/{product_id}/history`. */
export const ProductHistory = z
  .object({
    product_id: z.string(),
    items: z.array(CtrResult).openapi({ description: 'newest window first' }),
  })
  .openapi('ProductHistory')

/** Body of `GET /ctr/top`. */
export const TopCtr = z
  .object({
    limit: z.number().int(),
    min_impressions: z.number().int(),
    items: z.array(CtrResult).openapi({ description: 'highest ctr first; ties: more impressions, then product_id' }),
  })
  .openapi('TopCtr')

const intParam = (name: string, min: number, max: number | null, fallback: number, description: string) => {
  const base = z.coerce
    .number({ error: `${name} must be an integer` })
    .int(`${name} must be an integer`)
    .min(min, `${name} must be at least ${min}`)
  return (
    (max === null ? base : base.max(max, `${name} must be at most ${max}`))
      .default(fallback)
      // Spelled out: zod-to-openapi renders an integer without a maximum as ["integer", "null"].
      .openapi({
        param: { name, in: 'query' },
        type: 'integer',
        minimum: min,
        ...(max === null ? {} : { maximum: max }),
        default: fallback,
        description,
        example: fallback,
      })
  )
}

/** Query of `GET /ctr/{product_id}/history`. */
export const HistoryQuery = z.object({
  limit: intParam('limit', 1, 1000, 50, 'how many windows, newest first (1..1000)'),
})

/** Query of `GET /ctr/top`. */
export const TopQuery = z.object({
  limit: intParam('limit', 1, 1000, 10, 'how many products (1..1000)'),
  min_impressions: intParam('min_impressions', 0, null, 0, 'ignore windows with fewer impressions'),
})

/** The error body of the contract. */
export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'not_found' }),
      message: z.string().openapi({ example: 'no result for product "p-17"' }),
    }),
  })
  .openapi('Error')

/** Body of `GET /healthz`. */
export const Health = z.object({ status: z.literal('ok') }).openapi('Health')

/** Body of `GET /healthz` when Redis is unreachable (it is also a contract error body). */
export const Unhealthy = z
  .object({
    status: z.literal('unavailable'),
    reason: z.string(),
    error: ErrorResponse.shape.error,
  })
  .openapi('Unhealthy')

const PartitionStatus = z.looseObject({
  topic: z.string().optional(),
  partition: z.number().optional(),
  task: z.string().optional(),
  nextOffset: z.number().nullable().optional(),
  position: z.number().nullable().optional(),
  committed: z.number().nullable().optional(),
  highWatermark: z.number().nullable().optional(),
  lag: z.number().nullable().optional().openapi({ description: 'records behind the log end' }),
  watermark: z.number().nullable().optional(),
  maxEventTime: z.number().nullable().optional(),
  idle: z.boolean().optional(),
  lastEventWallTime: z.number().nullable().optional(),
})

/** The CTR job's `/status` as proxied by `GET /pipeline/status`; every field optional (the job may be older). */
export const PipelineStatus = z
  .looseObject({
    applicationId: z.string().optional(),
    topology: z.string().optional(),
    state: z.string().optional(),
    uptimeSeconds: z.number().optional(),
    error: z.string().optional(),
    watermark: z.number().nullable().optional().openapi({ description: 'job watermark, epoch ms' }),
    allIdle: z.boolean().optional(),
    partitions: z.array(PartitionStatus).optional(),
    windows: z
      .looseObject({
        open: z.number().optional(),
        oldest: z
          .looseObject({
            key: z.union([z.string(), z.number()]).optional(),
            start: z.number().optional(),
            end: z.number().optional(),
            firesAtWatermark: z.number().optional(),
            waitingFor: z
              .array(z.looseObject({ topic: z.string(), partition: z.number(), watermark: z.number().nullable() }))
              .optional(),
            reason: z.string().optional().openapi({ description: 'why the oldest open window has not fired yet' }),
          })
          .nullable()
          .optional(),
      })
      .optional(),
    counters: z
      .looseObject({
        eventsIn: z.number().optional(),
        late: z.number().optional(),
        deadLetters: z.number().optional(),
        windowsEmitted: z.number().optional(),
        lateFirings: z.number().optional(),
      })
      .nullable()
      .optional(),
    deadLetters: z.record(z.string(), z.number()).optional().openapi({ description: 'dead letters by reason' }),
  })
  .openapi('PipelineStatus')
