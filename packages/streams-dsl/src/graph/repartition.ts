import type { KeyByNode } from './nodes.js'
import type { Topology } from './topology.js'

/** How the input of one keyBy node reaches its window. */
export type KeyByPartitioning = {
  readonly keyBy: string
  /** Source topics feeding it, in declaration order. */
  readonly sources: readonly string[]
  /** Declared co-partitioned (`keyBy(fn, { copartitioned: true })`). */
  readonly declared: boolean
  /**
   * `co-partitioned`: no repartition topic, tasks are partition numbers; `repartitioned`: through the internal
   * topic. With partition counts known, a declaration over topics of different counts is repartitioned.
   */
  readonly mode: 'co-partitioned' | 'repartitioned'
  /** Why, in a sentence. */
  readonly reason: string
}

/** The source topics upstream of a node. */
function sourcesOf(t: Topology, name: string, seen = new Set<string>()): string[] {
  if (seen.has(name)) return []
  seen.add(name)
  const n = t.byName.get(name)
  if (!n) return []
  if (n.kind === 'source') return [n.topic]
  return n.inputs.flatMap((i) => sourcesOf(t, i, seen))
}

/**
 * Decides, per keyBy node, whether its input goes through a repartition topic. `partitionCounts` (topic ->
 * partitions) lets a declaration be checked; without it the declaration is taken as is.
 */
export function keyByPartitioning(t: Topology, partitionCounts?: ReadonlyMap<string, number>): KeyByPartitioning[] {
  const out: KeyByPartitioning[] = []
  for (const n of t.nodes) {
    if (n.kind !== 'keyBy') continue
    const sources = [...new Set(sourcesOf(t, n.name))]
    const declared = (n as KeyByNode).copartitioned === true
    if (!declared) {
      out.push({
        keyBy: n.name,
        sources,
        declared,
        mode: 'repartitioned',
        reason: 'input not declared partitioned by this key',
      })
      continue
    }
    const counts = partitionCounts ? sources.map((s) => partitionCounts.get(s)) : []
    const differ = counts.length > 0 && new Set(counts).size > 1
    out.push({
      keyBy: n.name,
      sources,
      declared,
      mode: differ ? 'repartitioned' : 'co-partitioned',
      reason: differ
        ? `declared co-partitioned, but the partition counts differ (${sources.map((s, i) => `${s}: ${counts[i] ?? '?'}`).join(', ')})`
        : partitionCounts
          ? `declared co-partitioned; ${sources.join(', ')} have ${counts[0] ?? '?'} partitions each`
          : 'declared co-partitioned (partition counts checked at start)',
    })
  }
  return out
}
