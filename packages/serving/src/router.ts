import { OpenAPIHono } from '@hono/zod-openapi'
import { ApiError } from './errors.js'
import { ErrorResponse } from './schemas.js'

/**
 * A sub-router whose request validation failures become contract errors: 400 `invalid_product_id` for a bad
 * path parameter, 400 `invalid_query` for a bad query value.
 *
 * @example
 * const router = createRouter()
 * router.openapi(route, handler)
 */
export function createRouter(): OpenAPIHono {
  return new OpenAPIHono({
    defaultHook: (result) => {
      if (result.success) return
      const issue = result.error.issues[0]
      const field = issue?.path.join('.') ?? ''
      const message = issue?.message ?? 'invalid request'
      if (result.target === 'param')
        throw new ApiError(400, 'invalid_product_id', field ? `${field} ${message}` : message)
      throw new ApiError(400, 'invalid_query', field && !message.startsWith(field) ? `${field}: ${message}` : message)
    },
  })
}

const json = (description: string) => ({ description, content: { 'application/json': { schema: ErrorResponse } } })

/** Reusable OpenAPI error responses. */
export const errorResponses = {
  400: json('invalid product_id or query value'),
  404: json('no result for this product'),
  503: json('Redis is unreachable'),
} as const
