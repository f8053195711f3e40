import { swaggerUI } from '@hono/swagger-ui'
import { createRoute, z } from '@hono/zod-openapi'
import { type AssetName, loadAsset } from '../assets.js'
import { createRouter } from '../router.js'

const openapiRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  tags: ['docs'],
  summary: 'This OpenAPI 3.1 document',
  responses: {
    200: {
      description: 'OpenAPI document',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
  },
})

const docsRoute = createRoute({
  method: 'get',
  path: '/docs',
  tags: ['docs'],
  summary: 'Interactive API documentation (Swagger UI, served locally: works offline)',
  responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
})

const SWAGGER_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js'] as const satisfies AssetName[]

const swaggerAssetRoute = createRoute({
  method: 'get',
  path: '/docs/swagger-ui-dist/{file}',
  tags: ['docs'],
  summary: "Swagger UI's files (from the swagger-ui-dist package)",
  request: { params: z.object({ file: z.enum(SWAGGER_FILES).openapi({ param: { name: 'file', in: 'path' } }) }) },
  responses: {
    200: {
      description: 'the file',
      content: { 'text/javascript': { schema: z.string() }, 'text/css': { schema: z.string() } },
    },
  },
})

/**
 * `/openapi.json` (built once from `document()`), and Swagger UI at `/docs` with its assets served from
 * node_modules instead of a CDN, and the online validator badge off, so it needs no network.
 *
 * @example
 * app.route('/', docsRoutes({ document: () => app.getOpenAPI31Document(info) }))
 */
export function docsRoutes({ document }: { document: () => object }) {
  const router = createRouter()
  let doc: object | undefined
  router.openapi(openapiRoute, (c) => {
    doc ??= document()
    return c.json(doc as Record<string, unknown>, 200)
  })
  const ui = swaggerUI({ url: '/openapi.json', baseUrl: '/docs', title: 'CTR API', validatorUrl: 'none' })
  router.openapi(docsRoute, async (c) => (await ui(c, async () => {})) as Response)
  router.openapi(
    swaggerAssetRoute,
    (c) => {
      const asset = loadAsset(c.req.valid('param').file)
      return new Response(asset.body, {
        status: 200,
        headers: { 'Content-Type': asset.type, 'Cache-Control': asset.cacheControl },
      })
    },
    (result, c) => {
      if (!result.success) return c.notFound()
    },
  )
  return router
}
