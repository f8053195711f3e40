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

/**
 * The keyBy nodes that key again what a join or a window produced (a keyBy with a keyBy upstream of it). Their
 * input is not any source's records, so no repartition topic of source records can feed them; such a topology
 * runs as one task holding every partition (`TASKS=single`, on one instance), where every value meets.
 */
export function chainedKeyBys(t: Topology): string[] {
  const hasKeyByUpstream = (name: string, seen: Set<string>): boolean => {
    if (seen.has(name)) return false
    seen.add(name)
    return (t.byName.get(name)?.inputs ?? []).some(
      (i) => t.byName.get(i)?.kind === 'keyBy' || hasKeyByUpstream(i, seen),
    )
  }
  return t.nodes.filter((n) => n.kind === 'keyBy' && hasKeyByUpstream(n.name, new Set())).map((n) => n.name)
}

/** Why a topology with {@link chainedKeyBys} runs as one task, and how to run it. */
export const chainedMessage =
  "keys again the results of a join or a window: such a topology runs as one task holding every partition, on one instance (TASKS=single for the runner, tasks: 'single' for an engine; the test driver's default); chaining repartition stages is not supported yet"
