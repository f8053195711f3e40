import { concat, concatMap, defer, ignoreElements, mergeMap, type OperatorFunction } from 'rxjs'
import type { InputBatch, TopicPartition, TopicPartitionOffset } from '../connectors/types.js'
import type { Topology } from '../graph/topology.js'
import { EngineCore } from './engine.js'
import type { EngineOptions, EngineSnapshot } from './types.js'

/** What flows into {@link runTopology}: record batches plus control markers — never one emission per record. */
export type EngineInput =
  | InputBatch
  | { readonly kind: 'tick' }
  | { readonly kind: 'assign' | 'revoke'; readonly partitions: readonly TopicPartition[] }
  | { readonly kind: 'checkpoint'; readonly id: string | number }

/** What {@link runTopology} emits: watermark advances and completed checkpoints. Results go to the sinks. */
export type EngineOutput =
  | { readonly kind: 'watermark'; readonly watermark: number }
  | {
      readonly kind: 'checkpoint'
      readonly id: string | number
      readonly offsets: TopicPartitionOffset[]
      readonly snapshot: EngineSnapshot
    }

/**
 * The engine as an RxJS operator: batches and markers in, one at a time (`concatMap` keeps offset order and
 * backpressure), watermark and checkpoint markers out. A checkpoint marker comes out after everything before it
 * is written to the sinks, with the offsets that are safe to commit and the state to store.
 *
 * @example
 * batches$.pipe(runTopology(app.build(), { deadLetters: dlq })).subscribe((m) => m.kind === 'checkpoint' && commit(m.offsets))
 */
export function runTopology(
  topology: Topology,
  options: EngineOptions = {},
): OperatorFunction<EngineInput, EngineOutput> {
  return (input$) =>
    defer(() => {
      const engine = new EngineCore(topology, options)
      let last = Number.NEGATIVE_INFINITY
      const step = async (item: EngineInput): Promise<EngineOutput[]> => {
        if ('records' in item) await engine.process(item)
        else if (item.kind === 'tick') await engine.tick()
        else if (item.kind === 'assign') await engine.assign(item.partitions)
        else if (item.kind === 'revoke') await engine.revoke(item.partitions)
        const out: EngineOutput[] = []
        const W = engine.tracker.watermark
        if (W > last) {
          last = W
          out.push({ kind: 'watermark', watermark: W })
        }
        if ('kind' in item && item.kind === 'checkpoint') {
          await engine.flush()
          out.push({ kind: 'checkpoint', id: item.id, offsets: engine.committable(), snapshot: engine.snapshot() })
        }
        return out
      }
      const close$ = defer(() => engine.close()).pipe(ignoreElements())
      return concat(
        input$.pipe(
          concatMap(step),
          mergeMap((outs) => outs),
        ),
        close$,
      )
    })
}
