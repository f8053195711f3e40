import type { Topology } from './topology.js'

/** The first problem found in a graph, naming its node. */
export type GraphProblem = { node: string | undefined; message: string }

/** Checks the rules the type system cannot; returns the first problem or undefined. */
export function validateGraph(t: Topology): GraphProblem | undefined {
  const nodes = t.nodes
  if (!nodes.some((n) => n.kind === 'source'))
    return {
      node: undefined,
      message: `topology "${t.name}" has no source: read a topic with app.source(topic('name', { value: json(Schema) }))`,
    }
  const topics = new Set<string>()
  const sinkNames = new Map<string, unknown>()
  for (const n of nodes) {
    const consumers = t.consumers.get(n.name) ?? []
    const inputs = n.inputs.map((i) => t.byName.get(i))
    if (inputs.some((i) => i === undefined))
      return {
        node: n.name,
        message: "reads a stream of another topology: build every stream from this topology's own app.source(...)",
      }
    switch (n.kind) {
      case 'source':
        if (topics.has(n.topic)) return { node: n.name, message: readTwice(n.topic) }
        topics.add(n.topic)
        break
      case 'window': {
        if (inputs[0]?.kind !== 'keyBy')
          return { node: n.name, message: 'window without keyBy: call .keyBy((value) => key) before .window()' }
        if (consumers.length !== 1 || t.byName.get(consumers[0] as string)?.kind !== 'aggregate')
          return {
            node: n.name,
            message: 'window without aggregation: end it with .aggregate(...), .count() or .reduce(fn), then .to(sink)',
          }
        if (n.allowedLateness < 0) return { node: n.name, message: 'allowedLateness must not be negative' }
        const agg = t.byName.get(consumers[0] as string)
        if (
          (n.spec.kind === 'session' || n.spec.kind === 'sliding') &&
          agg?.kind === 'aggregate' &&
          !agg.aggregation.merge
        )
          return {
            node: n.name,
            message: `${n.spec.kind} windows merge accumulators: ${agg.aggregation.name} has no merge(a, b); add one, or use a built-in (count, sum, sumOf, avg, min, max)`,
          }
        break
      }
      case 'keyBy':
        if (consumers.length === 0)
          return {
            node: n.name,
            message:
              "keyBy without window: call .window(tumbling('1m')) on it, then .count() or .aggregate(...) and .to(sink); or .count() / .aggregate(...) for running results over all time",
          }
        if (consumers.some((c) => t.byName.get(c)?.kind === 'deduplicate'))
          return {
            node: n.name,
            message:
              'deduplicate after keyBy is not supported: call .deduplicate({ by, within }) before .keyBy(); it finds duplicates per input partition (records of one Kafka key share a partition)',
          }
        if (consumers.some((c) => isJoin(t.byName.get(c)?.kind)) && consumers.length > 1)
          return { node: n.name, message: 'a keyed stream that is joined cannot also be windowed: key it again' }
        if (
          consumers.some(
            (c) => !['window', 'join', 'tableJoin', 'tableAggregate', 'process'].includes(t.byName.get(c)?.kind ?? ''),
          )
        )
          return {
            node: n.name,
            message:
              "a keyed stream can only be windowed, joined, aggregated or processed: call .window(tumbling('1m')), .join(...), .aggregate(...) or .process(...) on it",
          }
        break
      case 'join':
        if (inputs[0]?.kind !== 'keyBy')
          return {
            node: n.name,
            message: 'join needs keyed streams: a.keyBy(fn).join(b.keyBy(fn), joiner, { within })',
          }
        if (!(n.before >= 0) || !(n.after >= 0))
          return { node: n.name, message: "join: within's before and after must not be negative" }
        if (!(n.allowedLateness >= 0)) return { node: n.name, message: 'join: allowedLateness must not be negative' }
        break
      case 'tableJoin':
        if (inputs[0]?.kind !== 'keyBy')
          return { node: n.name, message: 'join needs a keyed stream: stream.keyBy(fn).join(table, joiner)' }
        if (!(n.allowedLateness >= 0)) return { node: n.name, message: 'join: allowedLateness must not be negative' }
        break
      case 'aggregate':
        if (inputs[0]?.kind !== 'window')
          return { node: n.name, message: 'aggregate needs a window before it: call .keyBy(fn).window(spec) first' }
        break
      case 'sink': {
        const s = n.sink as Partial<typeof n.sink> | undefined
        if (!s || typeof s.name !== 'string' || s.name === '' || typeof s.write !== 'function')
          return {
            node: n.name,
            message: `.to() needs a sink: an object with a name and write(records), e.g. collectingSink('out') or redisHash({ ... }); got ${describeValue(s)}`,
          }
        const seen = sinkNames.get(n.sink.name)
        if (seen !== undefined && seen !== n.sink)
          return {
            node: n.name,
            message: `two different sinks are named "${n.sink.name}": give one of them another name (a sink's name labels its metrics, logs and test-driver output)`,
          }
        sinkNames.set(n.sink.name, n.sink)
        break
      }
      case 'deduplicate':
        if (!(n.within >= 1))
          return { node: n.name, message: `deduplicate: within must be at least 1 ms, e.g. '10m'; got ${n.within}` }
        if (!(n.allowedLateness >= 0))
          return { node: n.name, message: 'deduplicate: allowedLateness must not be negative' }
        if (hasAncestor(t, n.name, 'join') || hasAncestor(t, n.name, 'tableJoin'))
          return {
            node: n.name,
            message: 'deduplicate after a join is not supported: deduplicate the inputs before their keyBy',
          }
        if (hasAncestor(t, n.name, 'aggregate'))
          return {
            node: n.name,
            message:
              'deduplicate after a window aggregate is not supported: window results are already one per key and window; deduplicate the input before .keyBy()',
          }
        break
      case 'merge':
        if (n.inputs.length < 2)
          return { node: n.name, message: 'merge needs at least one other stream: a.merge(b) or a.merge(b, c)' }
        break
    }
    if (n.kind !== 'sink' && n.kind !== 'window' && n.kind !== 'keyBy' && consumers.length === 0) {
      if (isJoin(n.kind)) return { node: n.name, message: 'join with no sink: end it with .to(sink)' }
      const what = n.kind === 'source' ? `source of topic "${n.topic}" is never used` : 'stream with no sink'
      return { node: n.name, message: `${what}: end it with .to(sink)` }
    }
  }
  return undefined
}

/** Whether a node kind is a join (interval or stream-table). */
const isJoin = (kind: string | undefined): boolean => kind === 'join' || kind === 'tableJoin'

/** Whether a node of `kind` feeds `name`, directly or through other nodes. */
function hasAncestor(t: Topology, name: string, kind: string, seen = new Set<string>()): boolean {
  if (seen.has(name)) return false
  seen.add(name)
  return (t.byName.get(name)?.inputs ?? []).some((i) => t.byName.get(i)?.kind === kind || hasAncestor(t, i, kind, seen))
}

/** The message for a topic given to `app.source()` twice. */
export const readTwice = (topic: string): string =>
  `topic "${topic}" is read twice: call app.source() once per topic and reuse the stream it returns`

/** A short description of a value that is not what was expected, for messages. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v)
  if (typeof v === 'function') return 'a function'
  if (typeof v === 'object') return `an object with keys ${Object.keys(v).slice(0, 5).join(', ') || '(none)'}`
  return `${typeof v} ${JSON.stringify(v)}`
}
