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
   * `one-task`: the topology has {@link chainedKeyBys}, so it runs as one task holding every partition and no
   * keyBy of it is repartitioned.
   */
  readonly mode: 'co-partitioned' | 'repartitioned' | 'one-task'
  /**
   * 1 for a keyBy of source records; n + 1 for a keyBy that keys again the results of an operator behind a keyBy
   * of stage n (a chained keyBy).
   */
  readonly stage: number
  /** The operators (a window, a join, a table, a process) whose results a chained keyBy keys again; else empty. */
  readonly rekeys: readonly string[]
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
  const stages = keyByStages(t)
  const chained = [...stages.values()].filter((s) => s.stage > 1)
  for (const n of t.nodes) {
    if (n.kind !== 'keyBy') continue
    const sources = [...new Set(sourcesOf(t, n.name))]
    const declared = (n as KeyByNode).copartitioned === true
    const { stage, rekeys } = stages.get(n.name) as KeyByStage
    const at = { keyBy: n.name, sources, declared, stage, rekeys }
    const first = chained[0]
    if (first !== undefined) {
      out.push({
        ...at,
        mode: 'one-task',
        reason:
          stage > 1
            ? `stage ${stage}: keys again the results of ${rekeys.join(', ')}; ${oneTask}`
            : `stage 1; ${first.keyBy} keys again the results of ${first.rekeys.join(', ')}, so ${oneTask}`,
      })
      continue
    }
    if (!declared) {
      out.push({ ...at, mode: 'repartitioned', reason: 'input not declared partitioned by this key' })
      continue
    }
    const counts = partitionCounts ? sources.map((s) => partitionCounts.get(s)) : []
    const differ = counts.length > 0 && new Set(counts).size > 1
    out.push({
      ...at,
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

const oneTask =
  'the topology runs as one task holding every partition, on one instance (TASKS=single): chained repartition stages are not supported yet'

type KeyByStage = { readonly keyBy: string; readonly stage: number; readonly rekeys: readonly string[] }

/**
 * Per keyBy node, its stage: 1 when no keyBy is upstream of it; else one more than the greatest stage upstream,
 * with the operators right after those keyBys (whose results it keys again).
 */
function keyByStages(t: Topology): Map<string, KeyByStage> {
  const out = new Map<string, KeyByStage>()
  const stageOf = (keyBy: string): KeyByStage => {
    const known = out.get(keyBy)
    if (known) return known
    let stage = 1
    const rekeys = new Set<string>()
    const seen = new Set<string>()
    const walk = (name: string): void => {
      if (seen.has(name)) return
      seen.add(name)
      for (const i of t.byName.get(name)?.inputs ?? []) {
        if (t.byName.get(i)?.kind === 'keyBy') {
          // `name` consumes a keyBy: the stateful operator whose results flow on to this keyBy
          rekeys.add(name)
          stage = Math.max(stage, stageOf(i).stage + 1)
        } else walk(i)
      }
    }
    walk(keyBy)
    const s = { keyBy, stage, rekeys: [...rekeys] }
    out.set(keyBy, s)
    return s
  }
  for (const n of t.nodes) if (n.kind === 'keyBy') stageOf(n.name)
  return out
}

/**
 * The keyBy nodes that key again what a join or a window produced (a keyBy with a keyBy upstream of it: stage 2
 * or more in {@link keyByPartitioning}). Their input is not any source's records, so no repartition topic of
 * source records can feed them; such a topology runs as one task holding every partition (`TASKS=single`, on one
 * instance), where every value meets.
 */
export function chainedKeyBys(t: Topology): string[] {
  return [...keyByStages(t).values()].filter((s) => s.stage > 1).map((s) => s.keyBy)
}

/** Why a topology with {@link chainedKeyBys} runs as one task, and how to run it. */
export const chainedMessage =
  "keys again the results of a join or a window: such a topology runs as one task holding every partition, on one instance (TASKS=single for the runner, tasks: 'single' for an engine; the test driver's default); chaining repartition stages is not supported yet"
