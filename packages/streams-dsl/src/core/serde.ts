/** How record bytes become typed values, and how decoding fails: shared by the DSL's serdes and the runtime. */

/**
 * Why decoding failed: the bytes are not JSON, or the JSON is not a valid event.
 *
 * @example
 * throw new DecodeError('invalid_event', 'page: must not be empty')
 */
export type DecodeFailureReason = 'invalid_json' | 'invalid_event'

/**
 * Thrown by {@link Serde.decode}; the runtime turns it into a dead letter with this reason and message.
 *
 * @example
 * const page: Serde<string> = {
 *   name: 'page',
 *   decode: (b) => {
 *     const s = b.toString('utf8')
 *     if (!s.startsWith('/')) throw new DecodeError('invalid_event', `page must start with /, got "${s}"`)
 *     return s
 *   },
 *   encode: (s) => Buffer.from(s),
 * }
 */
export class DecodeError extends Error {
  constructor(
    readonly reason: DecodeFailureReason,
    message: string,
  ) {
    super(message)
    this.name = 'DecodeError'
  }
}

/**
 * Turns record bytes into typed values and back. `decode` throws a {@link DecodeError} for bad input
 * (any other exception is reported as `invalid_event`). Implement it directly for a faster decoder
 * (a field scanner, or validation without building throwaway objects).
 *
 * @example
 * const text: Serde<string> = { name: 'text', decode: (b) => b.toString('utf8'), encode: (s) => Buffer.from(s) }
 */
export interface Serde<T> {
  /** Shown in `describe()`, e.g. `json`. */
  readonly name: string
  /** Bytes to a typed value; throws a {@link DecodeError} for bad input. */
  decode(bytes: Buffer): T
  /** A value to bytes (the test driver and producers use it). */
  encode(value: T): Buffer
}
