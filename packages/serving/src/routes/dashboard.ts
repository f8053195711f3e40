import { createRoute, z } from '@hono/zod-openapi'
import { type AssetName, loadAsset } from '../assets.js'
import { createRouter } from '../router.js'

const ASSETS = ['dashboard.js', 'dashboard.css', 'uPlot.iife.min.js', 'uPlot.min.css'] as const satisfies AssetName[]

const dashboardRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['dashboard'],
  summary: 'Live dashboard: CTR per product, recent windows of one product, pipeline health',
  responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
})

const assetRoute = createRoute({
  method: 'get',
  path: '/assets/{file}',
  tags: ['dashboard'],
  summary: "The dashboard's script and style sheets and the uPlot chart library, served locally",
  request: {
    params: z.object({ file: z.enum(ASSETS).openapi({ param: { name: 'file', in: 'path' } }) }),
  },
  responses: {
    200: {
      description: 'the file',
      content: { 'text/javascript': { schema: z.string() }, 'text/css': { schema: z.string() } },
    },
  },
})

const send = (name: AssetName) => {
  const asset = loadAsset(name)
  return new Response(asset.body, {
    status: 200,
    headers: { 'Content-Type': asset.type, 'Cache-Control': asset.cacheControl },
  })
}

/**
 * The dashboard at `/` and its files under `/assets/`. An unknown file is a 404 (through the app's not-found).
 *
 * @example
 * app.route('/', dashboardRoutes())
 */
export function dashboardRoutes() {
  const router = createRouter()
  router.openapi(dashboardRoute, () => send('index.html'))
  router.openapi(
    assetRoute,
    (c) => send(c.req.valid('param').file),
    (result, c) => {
      if (!result.success) return c.notFound()
    },
  )
  return router
}
