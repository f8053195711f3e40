import type { Rng } from './rng.js'

/** The kinds of bad record the generator makes, with the DLQ reason the job should give each. */
export const MALFORMED_KINDS = [
  { kind: 'truncated_json', reason: 'invalid_json' },
  { kind: 'not_an_object', reason: 'invalid_event' },
  { kind: 'missing_product_id', reason: 'invalid_event' },
  { kind: 'empty_product_id', reason: 'invalid_event' },
  { kind: 'product_id_too_long', reason: 'invalid_event' },
  { kind: 'bad_timestamp', reason: 'invalid_event' },
  { kind: 'future_timestamp', reason: 'future_timestamp' },
] as const

/** One of {@link MALFORMED_KINDS}. */
export type MalformedKind = (typeof MALFORMED_KINDS)[number]['kind']

/**
 * Turns a valid event into a bad record of a random kind: key and value to produce, and the kind.
 *
 * @example
 * malformedRecord({ product_id: 'p-1', timestamp: 0 }, Date.now(), Math.random).value
 */
export function malformedRecord(
  event: Record<string, unknown> & { product_id: string },
  now: number,
  rng: Rng,
): { key: string | null; value: string; malformed: MalformedKind } {
  const pick = MALFORMED_KINDS[Math.floor(rng() * MALFORMED_KINDS.length)] ?? MALFORMED_KINDS[0]
  const json = JSON.stringify(event)
  const key = event.product_id
  switch (pick.kind) {
    case 'truncated_json':
      return { key, value: json.slice(0, Math.max(1, Math.floor(json.length / 2))), malformed: pick.kind }
    case 'not_an_object':
      return { key, value: JSON.stringify(['not', 'an', 'event']), malformed: pick.kind }
    case 'missing_product_id': {
      const { product_id: _, ...rest } = event
      return { key: null, value: JSON.stringify(rest), malformed: pick.kind }
    }
    case 'empty_product_id':
      return { key: null, value: JSON.stringify({ ...event, product_id: '' }), malformed: pick.kind }
    case 'product_id_too_long':
      return { key, value: JSON.stringify({ ...event, product_id: 'p'.repeat(129) }), malformed: pick.kind }
    case 'bad_timestamp':
      return { key, value: JSON.stringify({ ...event, timestamp: 'yesterday' }), malformed: pick.kind }
    case 'future_timestamp':
      return { key, value: JSON.stringify({ ...event, timestamp: now + 3_600_000 }), malformed: pick.kind }
  }
}
