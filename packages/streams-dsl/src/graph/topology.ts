import { describeTopology } from './describe.js'
import type { GraphNode, SourceNode } from './nodes.js'
import { validateGraph } from './validate.js'

/** Watermark parameters of a topology, in milliseconds. */
export type WatermarkSettings = {
  readonly maxOutOfOrderness: number
  readonly idleTimeout: number
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
  /** Nodes by name. */
  readonly byName: ReadonlyMap<string, GraphNode>
  /** Consumers of each node, by name. */
  readonly consumers: ReadonlyMap<string, readonly string[]>

  /** @internal use `topology(...).build()` */
  constructor(
    readonly name: string,
    readonly watermarks: WatermarkSettings,
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

/** A topology that cannot run; the message names the node. */
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
