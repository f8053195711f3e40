import {
  CtrResult as ContractResult,
  MAX_PRODUCT_ID_LENGTH,
  ProductId,
  productIdRule,
} from '@ctr/ctr-topology/contract'
import { z } from '@hono/zod-openapi'

export { MAX_PRODUCT_ID_LENGTH }

/**
 * Why a product id is invalid, as the API says it (`product_id must not be empty`), or `null` when it is valid.
 * The rule is the job's (`productIdRule` of `@ctr/ctr-topology/contract`): 1 to 128 code points, no control
 * characters (NUL included), no unpaired surrogates; anything else (slashes, spaces, unicode) is valid.
 *
 * @example
 * productIdProblem('p-17') // null
 * productIdProblem('') // 'product_id must not be empty'
 */
export function productIdProblem(id: string): string | null {
  const problem = productIdRule(id)
  return problem === null ? null : `product_id ${problem}`
}

// The contract's schemas are documented with zod's own `.meta()` (which the OpenAPI generator reads), not
// `.openapi()`: that method exists only on schemas made after @hono/zod-openapi was loaded.

/** A product id path parameter: the contract's {@link ProductId}, documented as a path parameter. */
export const ProductIdParam = ProductId.meta({
  ...ProductId.meta(),
  param: { name: 'product_id', in: 'path' },
  description: `Product id: 1 to ${MAX_PRODUCT_ID_LENGTH} characters (code points), no control characters. URL-encode it (a \`/\` is \`%2F\`).`,
  example: 'p-17',
})

/** Path parameters of the per-product routes. */
export const ProductParams = z.object({ product_id: ProductIdParam })

/**
 * One window's result for one product, as the job writes it to Redis: the contract's result schema
 * (`@ctr/ctr-topology/contract`), with extra fields passed through (docs/contract.md §3 allows them).
 */
export const CtrResult = ContractResult.loose().meta({
  id: 'CtrResult',
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
