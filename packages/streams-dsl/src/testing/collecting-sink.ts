import type { Sink } from '../connectors/types.js'

/**
 * A sink that keeps everything written to it, in order (see {@link collectingSink}).
 *
 * @example
 * const out: CollectingSink<Windowed<string, number>> = collectingSink('per-page')
 */
export interface CollectingSink<T> extends Sink<T> {
  /** Everything written so far, in order. */
  readonly records: T[]
  /** Forgets the collected records. */
  clear(): void
}

/**
 * Creates a {@link CollectingSink}.
 *
 * @example
 * const out = collectingSink<CtrResult>('ctr'); stream.to(out); ...; expect(out.records).toHaveLength(3)
 */
export function collectingSink<T>(name: string): CollectingSink<T> {
  const records: T[] = []
  return {
    name,
    records,
    async write(batch: readonly T[]) {
      for (const r of batch) records.push(r)
    },
    clear() {
      records.length = 0
    },
  }
}
