import type { Topology } from './topology.js'

/** The first problem found in a graph, naming its node. */
export type GraphProblem = { node: string | undefined; message: string }

/** Checks the rules the type system cannot; returns the first problem or undefined. */
export function validateGraph(t: Topology): GraphProblem | undefined {
  const nodes = t.nodes
  if (!nodes.some((n) => n.kind === 'source')) return { node: undefined, message: `topology "${t.name}" has no source` }
  const topics = new Set<string>()
  const sinkNames = new Map<string, unknown>()
  for (const n of nodes) {
    const consumers = t.consumers.get(n.name) ?? []
    const inputs = n.inputs.map((i) => t.byName.get(i))
    if (inputs.some((i) => i === undefined)) return { node: n.name, message: 'reads from a node of another topology' }
    switch (n.kind) {
      case 'source':
        if (topics.has(n.topic)) return { node: n.name, message: `topic "${n.topic}" is read twice; reuse the stream` }
        topics.add(n.topic)
        break
      case 'window': {
        if (inputs[0]?.kind !== 'keyBy') return { node: n.name, message: 'window without keyBy: call .keyBy() first' }
        if (consumers.length !== 1 || t.byName.get(consumers[0] as string)?.kind !== 'aggregate')
          return { node: n.name, message: 'window without aggregation: call .aggregate(), .count() or .reduce()' }
        if (n.allowedLateness < 0) return { node: n.name, message: 'allowedLateness must not be negative' }
        const agg = t.byName.get(consumers[0] as string)
        if (n.spec.kind === 'session' && agg?.kind === 'aggregate' && !agg.aggregation.merge)
          return { node: n.name, message: `session windows merge accumulators: ${agg.aggregation.name} has no merge()` }
        break
      }
      case 'keyBy':
        if (consumers.length === 0) return { node: n.name, message: 'keyBy leads nowhere: call .window() on it' }
        if (consumers.some((c) => t.byName.get(c)?.kind !== 'window'))
          return { node: n.name, message: 'a keyed stream can only be windowed' }
        break
      case 'aggregate':
        if (inputs[0]?.kind !== 'window') return { node: n.name, message: 'aggregate needs a window before it' }
        break
      case 'sink': {
        const seen = sinkNames.get(n.sink.name)
        if (seen !== undefined && seen !== n.sink)
          return { node: n.name, message: `two different sinks are named "${n.sink.name}"` }
        sinkNames.set(n.sink.name, n.sink)
        break
      }
      case 'merge':
        if (n.inputs.length < 2) return { node: n.name, message: 'merge needs at least one other stream' }
        break
    }
    if (n.kind !== 'sink' && n.kind !== 'window' && n.kind !== 'keyBy' && consumers.length === 0) {
      const what = n.kind === 'source' ? `source of topic "${n.topic}" is never used` : 'stream with no sink'
      return { node: n.name, message: `${what}: end it with .to(sink)` }
    }
  }
  return undefined
}
