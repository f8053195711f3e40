import type { GraphNode } from './nodes.js'
import { TopologyError } from './topology.js'
import { readTwice } from './validate.js'

type NewNode = GraphNode extends infer N ? (N extends GraphNode ? Omit<N, 'name'> & { name?: string } : never) : never

/** Collects nodes as DSL calls are made; `build()` hands them to the compiler. Internal. */
export class GraphBuilder {
  readonly nodes: GraphNode[] = []
  private readonly names = new Set<string>()
  private seq = 0
  private built = false

  /** Adds a node and returns its unique name (given, or `<kind>-<n>` in creation order, so it is stable). */
  add(node: NewNode): string {
    if (this.built)
      throw new TopologyError(undefined, 'topology is already built: create a new topology() to change it')
    this.seq++
    const name = node.name ?? `${node.kind}-${this.seq}`
    if (this.names.has(name)) {
      const what =
        node.kind === 'source'
          ? readTwice(node.topic)
          : 'this name is used by two operators: give each its own { name }, or leave it out for <kind>-<n>'
      throw new TopologyError(name, what)
    }
    this.names.add(name)
    this.nodes.push(Object.freeze({ ...node, name, inputs: Object.freeze([...node.inputs]) }) as GraphNode)
    return name
  }

  /** The node of a name. */
  node(name: string): GraphNode | undefined {
    return this.nodes.find((n) => n.name === name)
  }

  /** Whether any node reads the output of `name`. */
  hasConsumers(name: string): boolean {
    return this.nodes.some((n) => n.inputs.includes(name))
  }

  /**
   * Takes back a node no other node reads (a DSL call that rewrites what an earlier call added, as a join does
   * with its sides' keyBy nodes); its name is free again.
   */
  remove(name: string): void {
    if (this.hasConsumers(name)) throw new TopologyError(name, 'is read by another operator and cannot be replaced')
    const i = this.nodes.findIndex((n) => n.name === name)
    if (i >= 0) this.nodes.splice(i, 1)
    this.names.delete(name)
  }

  /** Marks the graph as built; later DSL calls fail. */
  seal(): readonly GraphNode[] {
    this.built = true
    return Object.freeze([...this.nodes])
  }
}
