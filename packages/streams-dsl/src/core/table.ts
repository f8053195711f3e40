/**
 * Tables as the DSL, the graph and the runtime share them: one change of a table read from a topic, and how a
 * table source decodes its records.
 */
import type { RawRecord } from '../connectors/types.js'
import { DecodeError, type Serde } from './serde.js'

/**
 * One change of a table: the row's key (the Kafka record key) and its new value, or null when the record is a
 * tombstone (the row is deleted). What `table.toStream()` carries.
 *
 * @example
 * const change: TableChange<Product> = { key: 'p-1', value: { product_id: 'p-1', category: 'shoes' } }
 */
export type TableChange<V> = {
  readonly key: string
  /** The new value; null: the row was deleted (a tombstone). */
  readonly value: V | null
}

/**
 * Decodes a record of a table's topic: its key is the row's, a null value is a tombstone. Throws a
 * {@link DecodeError} for a record without a key or with a value the serde rejects.
 */
export function decodeTableRecord(serde: Serde<unknown>, rec: RawRecord): TableChange<unknown> {
  if (rec.key === null || rec.key.length === 0)
    throw new DecodeError(
      'invalid_event',
      'a table record needs a key (the row it sets or deletes); this one has none: produce it with the row key',
    )
  return { key: rec.key.toString(), value: rec.value === null ? null : serde.decode(rec.value) }
}
