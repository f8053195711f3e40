import { createRoute } from '@hono/zod-openapi'
import { ApiError } from '../errors.js'
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
import { type CtrStore, ctrChange, KEYS } from '../store.js'

const ok = <T>(description: string, schema: T) => ({ description, content: { 'application/json': { schema } } })
const tags = ['ctr']

const latestRoute = createRoute({
  method: 'get',
  path: '/ctr/latest',
  tags,
  summary: "Every product's result of its most recent window",
  responses: { 200: ok('product_id -> result, from ctr:latest', CtrResultMap), 503: errorResponses[503] },
})

const previousRoute = createRoute({
  method: 'get',
  path: '/ctr/previous',
  tags,
  summary: "Every product's result of the window before its most recent one",
  responses: { 200: ok('product_id -> result, from ctr:previous', CtrResultMap), 503: errorResponses[503] },
})

const topRoute = createRoute({
  method: 'get',
  path: '/ctr/top',
  tags,
  summary: 'Products with the highest CTR in their latest window',
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
  request: { params: ProductParams },
  responses: {
    200: ok('latest and previous result', ProductCtr),
    400: errorResponses[400],
    404: errorResponses[404],
    503: errorResponses[503],
  },
})

const notFound = (productId: string) =>
  new ApiError(404, 'not_found', `no result for product ${JSON.stringify(productId)}`)

/**
 * The CTR read routes: `/ctr/latest`, `/ctr/previous`, `/ctr/top`, `/ctr/{product_id}`, `/ctr/{product_id}/history`.
 * The static paths are registered before `/ctr/{product_id}`, so they are never taken for a product id.
 *
 * @example
 * app.route('/', ctrRoutes({ store: new CtrStore(redis) }))
 */
export function ctrRoutes({ store }: { store: CtrStore }) {
  const router = createRouter()
  // The maps are served pre-serialized (see CtrStore.allJson): documented through the registry, routed plainly.
  for (const [route, key] of [
    [latestRoute, KEYS.latest],
    [previousRoute, KEYS.previous],
  ] as const) {
    router.openAPIRegistry.registerPath(route)
    router.get(route.path, async (c) => c.body(await store.allJson(key), 200, { 'Content-Type': 'application/json' }))
  }
  router.openapi(topRoute, async (c) => {
    const { limit, min_impressions } = c.req.valid('query')
    return c.json({ limit, min_impressions, items: await store.top(limit, min_impressions) }, 200)
  })
  // `/ctr/` and `/ctr//history` match no `{product_id}` route: answer them as the empty product id they are.
  const empty = () => {
    throw new ApiError(400, 'invalid_product_id', productIdProblem('') ?? 'product_id must not be empty')
  }
  router.get('/ctr/', empty)
  router.get('/ctr//history', empty)
  router.openapi(historyRoute, async (c) => {
    const { product_id } = c.req.valid('param')
    const { limit } = c.req.valid('query')
    const items = await store.history(product_id, limit)
    if (items.length === 0 && !(await store.hasLatest(product_id))) throw notFound(product_id)
    return c.json({ product_id, items }, 200)
  })
  router.openapi(productRoute, async (c) => {
    const { product_id } = c.req.valid('param')
    const { latest, previous } = await store.product(product_id)
    if (!latest && !previous) throw notFound(product_id)
    return c.json({ product_id, latest, previous, ctr_change: ctrChange(latest, previous) }, 200)
  })
  return router
}
