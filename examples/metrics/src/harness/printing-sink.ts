import type { Sink } from '@ctr/streams-dsl'

/**
 * Wraps a sink so that each write, once the wrapped sink made it durable, is also shown (the example prints
 * it). Everything else of the sink is kept as it is — its name, flush, close and, for the Redis sinks, the
 * `health` the runner watches to pause the input during an outage.
 *
 * @example
 * const sink = printingSink(redisHash({ key: 'k', field: (r) => r.id }), (rs) => console.log(rs.length))
 */
export function printingSink<T>(inner: Sink<T>, written: (records: readonly T[]) => void): Sink<T> {
  return {
    ...inner,
    name: inner.name,
    async write(records) {
      await inner.write(records)
      if (records.length > 0) written(records)
    },
  }
}
