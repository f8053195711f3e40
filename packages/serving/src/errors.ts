import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** Machine-readable error codes of the API (`error.code` in every error body). */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_product_id'
  | 'invalid_query'
  | 'not_found'
  | 'method_not_allowed'
  | 'redis_unavailable'
  | 'redis_error'
  | 'job_unreachable'
  | 'job_bad_response'
  | 'internal_error'

/** The JSON body of every error response: `{"error": {"code", "message"}}` (CONTRACTS.md §4). */
export type ErrorBody = { error: { code: ErrorCode; message: string } }

/**
 * An error that maps to an HTTP response; thrown anywhere in a handler, rendered by the app's `onError`.
 *
 * @example
 * throw new ApiError(404, 'not_found', 'no result for product "p-1"')
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }

  /** The contract's JSON body for this error. */
  body(): ErrorBody {
    return { error: { code: this.code, message: this.message } }
  }
}

/** Builds the contract's error body. */
export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } }
}

/** Sends an {@link ApiError} as a JSON response. */
export function sendError(c: Context, err: ApiError): Response {
  return c.json(err.body(), err.status)
}
