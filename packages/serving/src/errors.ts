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
  | 'too_many_streams'
  | 'job_unreachable'
  | 'job_bad_response'
  | 'internal_error'

/** The JSON body of every error response: `{"error": {"code", "message"}}` (docs/contract.md §4.2). */
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

const REASONS: [RegExp, string][] = [
  [/ECONNREFUSED/, 'connection refused'],
  [/ENOTFOUND|EAI_AGAIN/, 'host not found'],
  [/EHOSTUNREACH|ENETUNREACH/, 'host unreachable'],
  [/ETIMEDOUT|timed? ?out|TimeoutError|aborted due to timeout/i, 'timed out'],
  [
    /ECONNRESET|EPIPE|ECONNABORTED|connection lost|Connection is closed|Stream isn't writeable|socket hang up/i,
    'connection lost',
  ],
  [/NOAUTH|WRONGPASS|invalid password|authentication/i, 'authentication failed'],
]

// URLs, IPv4 and bracketed IPv6 addresses with an optional port, and `host:port`.
const ADDRESS =
  /\b[a-z][a-z\d+.-]*:\/\/\S*|\[[\da-f:.]+\](?::\d+)?|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b|\b[\w.-]+:\d{2,5}\b/gi

/**
 * A connection failure as a client may read it: what went wrong, never where (no address, port or URL: they stay in
 * the server's log). Used in every 5xx body.
 *
 * @example
 * publicReason('connect ECONNREFUSED 127.0.0.1:6379') // 'connection refused'
 */
export function publicReason(message: string): string {
  for (const [pattern, reason] of REASONS) if (pattern.test(message)) return reason
  return message.replace(ADDRESS, '<address>')
}
