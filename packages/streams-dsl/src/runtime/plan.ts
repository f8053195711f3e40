import type { DeadLetter, Sink } from '../connectors/types.js'
import type { AggregateNode, DeduplicateNode, KeyByNode, SourceNode, WindowNode } from '../graph/nodes.js'
import type { Topology } from '../graph/topology.js'
import type { WindowKey } from '../state/window-store.js'
import type { OperatorDeps } from './context.js'
import { DedupeOperator } from './operators/dedupe-operator.js'
import { type StatefulOperator, windowOperator } from './operators/index.js'
import { IntervalJoinOperator } from './operators/interval-join-operator.js'
import { ProcessOperator } from './operators/process-operator.js'
import { StreamTableJoinOperator } from './operators/stream-table-join-operator.js'
import { TableAggregateOperator } from './operators/table-aggregate-operator.js'

type Push = (value: unknown) => void
type AnyFn = (value: unknown) => unknown

/** Results waiting to be written to one sink at the end of a batch. */
export type SinkBuffer = { sink: Sink<unknown>; buffer: unknown[] }

/** A topology compiled into plain push functions: the per-record path is a chain of direct calls. */
export type Plan = {
  readonly sources: ReadonlyMap<string, { readonly node: SourceNode; readonly push: Push }>
  /** The stateful operators, in the order they were built (the order they fire in on a watermark). */
  readonly operators: readonly StatefulOperator[]
  readonly sinks: readonly SinkBuffer[]
  /** Set when the topology routes dead letters / late events itself. */
  readonly deadLetters: ((d: DeadLetter) => void) | undefined
  readonly lateEvents: ((d: DeadLetter) => void) | undefined
}

/**
 * What a keyBy node does in this plan: feed its window (`window`), feed it only the keys this engine owns
 * (`owned`: the downstream side of a repartition topic), hand each key to `route` instead (`route`: the upstream
 * side), or nothing (`skip`: another keyBy's downstream engine).
 */
export type KeyByMode = 'window' | 'owned' | 'route' | 'skip'

/** What compiled operators share with the engine. */
export type PlanDeps = OperatorDeps & {
  /** Reports a window result that user code downstream of the window threw on. */
  resultFailed: (operator: string, result: unknown, error: unknown, ts?: number) => void
  /** Default: every keyBy feeds its window. */
  keyByMode?: (keyBy: string) => KeyByMode
  /** Where a `route` keyBy node sends each key (with the record in the context); resolved once per node. */
  route?: (keyBy: string) => (key: WindowKey) => void
  /** Whether this engine owns a key of an `owned` keyBy node. */
  owns?: (keyBy: string, key: WindowKey) => boolean
}

/** Compiles a topology into a {@link Plan}. */
export function buildPlan(t: Topology, deps: PlanDeps): Plan {
  const emitters = new Map<string, Push>()
  const sinkBuffers = new Map<Sink<unknown>, SinkBuffer>()
  const operators: StatefulOperator[] = []
  const node = (name: string) => t.byName.get(name)!
  // The downstream engine of a repartition topic replays each record from its source to its keyBy: a deduplicate
  // node (always before the keyBy: validate.ts) already ran upstream, per source partition, so here it passes on.
  const downstreamEngine = t.nodes.some((n) => n.kind === 'keyBy' && deps.keyByMode?.(n.name) === 'owned')

  const emitterOf = (name: string): Push => {
    const known = emitters.get(name)
    if (known) return known
    const fns = (t.consumers.get(name) ?? []).flatMap((c) => inputOf(c, name))
    const push: Push =
      fns.length === 0
        ? () => {}
        : fns.length === 1
          ? (fns[0] as Push)
          : (v) => {
              for (const f of fns) f(v)
            }
    emitters.set(name, push)
    return push
  }

  const inputOf = (name: string, from: string): Push[] => {
    const n = node(name)
    switch (n.kind) {
      case 'map': {
        const next = emitterOf(name)
        const fn = n.fn as AnyFn
        return [(v) => next(fn(v))]
      }
      case 'filter': {
        const next = emitterOf(name)
        const fn = n.fn as AnyFn
        return [(v) => (fn(v) ? next(v) : undefined)]
      }
      case 'flatMap': {
        const next = emitterOf(name)
        const fn = n.fn as (v: unknown) => Iterable<unknown>
        return [
          (v) => {
            for (const x of fn(v)) next(x)
          },
        ]
      }
      case 'merge':
        return [emitterOf(name)]
      case 'deduplicate': {
        if (downstreamEngine) return [emitterOf(name)]
        const op = new DedupeOperator(name, n as DeduplicateNode, deps)
        operators.push(op)
        op.downstream = emitterOf(name)
        return [(v) => op.process(v)]
      }
      case 'keyBy': {
        const keyOf = (n as KeyByNode).fn as (v: unknown) => WindowKey
        const mode = deps.keyByMode?.(name) ?? 'window'
        if (mode === 'skip') return [() => {}]
        if (mode === 'route') {
          const send = (deps.route as NonNullable<PlanDeps['route']>)(name)
          return [(v) => send(keyOf(v))]
        }
        const owns = mode === 'owned' ? (deps.owns as NonNullable<PlanDeps['owns']>) : undefined
        return (t.consumers.get(name) ?? []).map((w) => {
          const consumer = node(w)
          if (consumer.kind === 'tableAggregate') {
            const op = new TableAggregateOperator(w, consumer, keyOf, deps)
            operators.push(op)
            const next = emitterOf(w)
            // a throw in user code after it costs that result only
            op.downstream = (r: unknown) => {
              try {
                next(r)
              } catch (e) {
                deps.resultFailed(w, r, e, deps.ctx.ts)
              }
            }
            if (owns) return (v: unknown) => (owns(name, keyOf(v)) ? op.process(v) : undefined)
            return (v: unknown) => op.process(v)
          }
          if (consumer.kind === 'process') {
            const op = new ProcessOperator(w, consumer, keyOf, deps, deps.resultFailed)
            operators.push(op)
            op.downstream = emitterOf(w)
            if (owns) return (v: unknown) => (owns(name, keyOf(v)) ? op.process(v) : undefined)
            return (v: unknown) => op.process(v)
          }
          if (consumer.kind === 'join' || consumer.kind === 'tableJoin') {
            const op =
              consumer.kind === 'join'
                ? new IntervalJoinOperator(w, consumer, keyOf, deps)
                : new StreamTableJoinOperator(w, consumer, keyOf, deps)
            operators.push(op)
            op.downstream = emitterOf(w)
            if (owns) return (v: unknown) => (owns(name, keyOf(v)) ? op.process(v) : undefined)
            return (v: unknown) => op.process(v)
          }
          const win = consumer as WindowNode
          const agg = node(t.consumers.get(w)?.[0] as string) as AggregateNode
          const op = windowOperator(w, win, agg, keyOf, deps)
          operators.push(op)
          const next = emitterOf(agg.name)
          // a throw in user code after the window must not leave the other results of a firing unsent
          op.downstream = (r: unknown) => {
            try {
              next(r)
            } catch (e) {
              deps.resultFailed(w, r, e)
            }
          }
          if (owns) return (v: unknown) => (owns(name, keyOf(v)) ? op.process(v) : undefined)
          return (v: unknown) => op.process(v)
        })
      }
      case 'sink': {
        let sb = sinkBuffers.get(n.sink as Sink<unknown>)
        if (!sb) {
          sb = { sink: n.sink as Sink<unknown>, buffer: [] }
          sinkBuffers.set(n.sink as Sink<unknown>, sb)
        }
        const target = sb
        return [(v) => target.buffer.push(v)]
      }
      default:
        throw new Error(`${name}: cannot consume from ${from}`)
    }
  }

  const sources = new Map<string, { node: SourceNode; push: Push }>()
  let deadLetters: ((d: DeadLetter) => void) | undefined
  let lateEvents: ((d: DeadLetter) => void) | undefined
  for (const n of t.nodes) {
    if (n.kind === 'source') sources.set(n.topic, { node: n, push: emitterOf(n.name) })
    else if (n.kind === 'deadLetters') deadLetters = emitterOf(n.name)
    else if (n.kind === 'lateEvents') lateEvents = emitterOf(n.name)
  }
  return { sources, operators, sinks: [...sinkBuffers.values()], deadLetters, lateEvents }
}
