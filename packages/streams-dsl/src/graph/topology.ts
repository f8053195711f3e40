import { describeTopology } from './describe.js'
import type { GraphNode, SourceNode } from './nodes.js'
import { validateGraph } from './validate.js'

/**
 * Watermark parameters of a topology, in milliseconds (from the `watermarks` option of `topology()`).
 *
 * @example
 * topology('views', { watermarks: { maxOutOfOrderness: '3s' } }).build().watermarks
 * // { maxOutOfOrderness: 3000, idleTimeout: 10000, maxFutureSkew: 300000 }
 */
export type WatermarkSettings = {
  /** B: how far out of order events may arrive; W(p) = maxEventTime(p) - B - 1. */
  readonly maxOutOfOrderness: number
  /** A partition silent this long (wall clock, with evidence that nothing is unread) stops holding W back. */
  readonly idleTimeout: number
  /** Events further ahead of the wall clock are dead letters (`future_timestamp`). */
  readonly maxFutureSkew: number
}

/**
 * A built, validated, immutable topology: what the runtime executes.
 *
 * @example
 * const t = app.build(); console.log(t.describe()); t.sourceTopics // ['impressions', 'clicks']
 */
export class Topology {
  /** Input topics in declaration order. */
  readonly sourceTopics: readonly string[]
  /** @internal Nodes by name (for the runtime). */
  readonly byName: ReadonlyMap<string, GraphNode>
  /** @internal Consumers of each node, by name (for the runtime). */
  readonly consumers: ReadonlyMap<string, readonly string[]>

  /** @internal use `topology(...).build()` */
  constructor(
    readonly name: string,
    readonly watermarks: WatermarkSettings,
    /** @internal The graph's nodes in creation order (for the runtime). */
    readonly nodes: readonly GraphNode[],
  ) {
    this.sourceTopics = Object.freeze(nodes.filter((n): n is SourceNode => n.kind === 'source').map((n) => n.topic))
    this.byName = new Map(nodes.map((n) => [n.name, n]))
    const consumers = new Map<string, string[]>(nodes.map((n) => [n.name, []]))
    for (const n of nodes) for (const i of n.inputs) consumers.get(i)?.push(n.name)
    this.consumers = consumers
    Object.freeze(this)
  }

  /** A readable listing of the graph, one node per line with its consumers. */
  describe(): string {
    return describeTopology(this)
  }
}

/**
 * A topology that cannot run, thrown by `build()` (or by a DSL call on a built topology); the message names the
 * node and says how to fix it.
 *
 * @example
 * try {
 *   app.build()
 * } catch (e) {
 *   if (e instanceof TopologyError) console.error(e.message) // "by-page: keyBy without window: ... call .window(tumbling('1m')) on it, ..."
 * }
 */
export class TopologyError extends Error {
  constructor(
    readonly node: string | undefined,
    message: string,
  ) {
    super(node ? `${node}: ${message}` : message)
    this.name = 'TopologyError'
  }
}

/** Validates the graph and freezes it into a {@link Topology}. Internal: called by `build()`. */
export function compileTopology(name: string, watermarks: WatermarkSettings, nodes: readonly GraphNode[]): Topology {
  const t = new Topology(name, watermarks, nodes)
  const problem = validateGraph(t)
  if (problem) throw new TopologyError(problem.node, problem.message)
  return t
}
