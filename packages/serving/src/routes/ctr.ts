import { REDIS_KEYS } from '@ctr/ctr-topology/contract'
import { createRoute } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { ApiError } from '../errors.js'
import type { ResultsCache } from '../results-cache.js'
import { createRouter, errorResponses } from '../router.js'
import {
  CtrResultMap,
  HistoryQuery,
  ProductCtr,
  ProductHistory,
  ProductParams,
  productIdProblem,
  TopCtr,
  TopQuery,
} from '../schemas.js'
import { type CtrStore, ctrChange } from '../store.js'

const ok = <T>(description: string, schema: T) => ({ description, content: { 'application/json': { schema } } })
const tags = ['ctr']
const CACHED =
  'Served from the API’s copy of the hashes, kept up to date by `ctr:updates` and never older than the staleness ' +
  'bound (`CACHE_MAX_STALENESS_MS`, default 1 s). 503 while Redis is unreachable.'

const latestRoute = createRoute({
  method: 'get',
  path: '/ctr/latest',
  tags,
  summary: "Every product's result of its most recent window",
  description: CACHED,
  responses: { 200: ok('product_id -> result, from ctr:latest', CtrResultMap), 503: errorResponses[503] },
})

const previousRoute = createRoute({
  method: 'get',
  path: '/ctr/previous',
  tags,
  summary: "Every product's result of the window before its most recent one",
  description: CACHED,
  responses: { 200: ok('product_id -> result, from ctr:previous', CtrResultMap), 503: errorResponses[503] },
})

const topRoute = createRoute({
  method: 'get',
  path: '/ctr/top',
  tags,
  summary: 'Products with the highest CTR in their latest window',
  description: CACHED,
  request: { query: TopQuery },
  responses: { 200: ok('highest ctr first', TopCtr), 400: errorResponses[400], 503: errorResponses[503] },
})

const historyRoute = createRoute({
  method: 'get',
  path: '/ctr/{product_id}/history',
  tags,
  summary: "A product's results of its last windows, newest first",
  request: { params: ProductParams, query: HistoryQuery },
  responses: {
    200: ok('newest window first', ProductHistory),
    400: errorResponses[400],
    404: errorResponses[404],
    503: errorResponses[503],
  },
})

const productRoute = createRoute({
  method: 'get',
  path: '/ctr/{product_id}',
  tags,
  summary: "A product's latest and previous result and the change of its CTR",
  description: CACHED,
  request: { params: ProductParams },
  responses: {
    200: ok('latest and previous result', ProductCtr),
    400: errorResponses[400],
    404: errorResponses[404],
    503: errorResponses[503],
  },
})

/**
 * The request's `{product_id}`, or a 400 `invalid_product_id` by the contract's rule. Hono leaves a percent-encoded
 * sequence that is not UTF-8 as it is (`%FF` stays the three characters `%FF`, the id `/ctr/%25FF` names): such a
 * path names no id, as bytes that are not UTF-8 are no id for the job either.
 */
function productIdParam(c: Context): string {
  const id = c.req.param('product_id') ?? ''
  if (id.includes('%') && !decodesAsUtf8(new URL(c.req.url).pathname))
    throw new ApiError(400, 'invalid_product_id', 'product_id must be UTF-8 once percent-decoded')
  const problem = productIdProblem(id)
  if (problem) throw new ApiError(400, 'invalid_product_id', problem)
  return id
}

/** Whether every run of `%XX` escapes in `path` decodes as UTF-8 (a stray `%` not followed by two hex digits is a `%`). */
function decodesAsUtf8(path: string): boolean {
  for (const [run] of path.matchAll(/(?:%[0-9A-Fa-f]{2})+/g)) {
    try {
      decodeURIComponent(run)
    } catch {
      return false
    }
  }
  return true
}

const notFound = (productId: string) =>
  new ApiError(404, 'not_found', `no result for product ${JSON.stringify(productId)}`)

/** `f(value)`, at once for a value the cache had ready (no promise on the hot path), or once the promise settles. */
const then = <T, R>(value: T | Promise<T>, f: (v: T) => R): R | Promise<R> =>
  value instanceof Promise ? value.then(f) : f(value)

const JSON_TYPE = { 'Content-Type': 'application/json' }
const json = (c: Context, body: string | Uint8Array<ArrayBuffer>) => c.body(body, 200, JSON_TYPE)

/**
 * The CTR read routes: `/ctr/latest`, `/ctr/previous`, `/ctr/top`, `/ctr/{product_id}` (from the {@link ResultsCache})
 * and `/ctr/{product_id}/history` (from Redis). The static paths are registered before `/ctr/{product_id}`, so they
 * are never taken for a product id.
 *
 * @example
 * app.route('/', ctrRoutes({ cache, store: new CtrStore(redis) }))
 */
export function ctrRoutes({ cache, store }: { cache: ResultsCache; store: CtrStore }) {
  const router = createRouter()
  // The hot routes are documented through the registry and routed plainly: their bodies are the stored JSON passed
  // through (parsed and validated once per change, when it entered the cache), and the product id is checked with
  // the contract's rule directly, without a validator per request.
  for (const [route, key] of [
    [latestRoute, REDIS_KEYS.latest],
    [previousRoute, REDIS_KEYS.previous],
  ] as const) {
    router.openAPIRegistry.registerPath(route)
    router.get(route.path, (c) => then(cache.json(key), (body) => json(c, body)))
  }
  router.openapi(topRoute, async (c) => {
    const { limit, min_impressions } = c.req.valid('query')
    const items: string[] = []
    for (const e of await cache.byCtr()) {
      if (items.length === limit) break
      if ((e.value?.impressions ?? 0) >= min_impressions) items.push(e.raw)
    }
    return json(c, `{"limit":${limit},"min_impressions":${min_impressions},"items":[${items.join(',')}]}`) as never
  })
  // `/ctr/` and `/ctr//history` match no `{product_id}` route: answer them as the empty product id they are.
  const empty = () => {
    throw new ApiError(400, 'invalid_product_id', productIdProblem('') ?? 'product_id must not be empty')
  }
  router.get('/ctr/', empty)
  router.get('/ctr//history', empty)
  router.openapi(historyRoute, async (c) => {
    const product_id = productIdParam(c)
    const { limit } = c.req.valid('query')
    const items = await store.history(product_id, limit)
    if (items.length === 0 && !(await store.hasLatest(product_id))) throw notFound(product_id)
    return c.json({ product_id, items }, 200)
  })
  router.openAPIRegistry.registerPath(productRoute)
  router.get('/ctr/:product_id', (c) => {
    const productId = productIdParam(c)
    return then(cache.product(productId), ({ latest, previous }) => {
      if (!latest && !previous) throw notFound(productId)
      const change = ctrChange(latest?.value ?? null, previous?.value ?? null)
      return json(
        c,
        `{"product_id":${JSON.stringify(productId)},"latest":${latest?.raw ?? 'null'},"previous":${previous?.raw ?? 'null'},"ctr_change":${change}}`,
      )
    })
  })
  return router
}
