import { kafkaSink } from '@ctr/streams-dsl/kafka'
import { clock, type Example } from '../harness/example.js'
import { adsInput } from './ads.js'
import { type AttributedClick, clickAttributionTopology } from './topology.js'

/** Clicks shown per printed line. */
const SHOWN = 3

/** `pnpm example click-attribution`. */
export const clickAttributionExample: Example<AttributedClick> = {
  name: 'click-attribution',
  summary:
    'each click joined to the impression it names, shown at most 30 min before it (an interval left join of two topics), to a Kafka topic; unattributed clicks come out once the 30 min have passed',
  input: 'example-ad-clicks',
  secondInput: 'example-ad-impressions',
  output: 'example-attributed-clicks',
  usesRedis: false,
  results: (ctx) => {
    const topic = ctx.output as string
    return {
      sink: kafkaSink({
        topic,
        brokers: ctx.kafkaBrokers,
        clientId: `${ctx.applicationId}-results`,
        key: (r) => r.product_id ?? 'unattributed',
      }),
      where: `Kafka topic ${topic} on ${ctx.kafkaBrokers}, a JSON record per click, keyed by the product it is attributed to ("unattributed" for none)`,
    }
  },
  topology: (ctx, results) =>
    clickAttributionTopology({
      applicationId: ctx.applicationId,
      clicks: ctx.input,
      impressions: ctx.secondInput as string,
      results,
    }),
  producer: (rng, start) =>
    adsInput(
      { rate: 20, products: 8, clickThrough: 0.15, clickDelayMs: { min: 300, max: 12_000 }, strays: 0.01 },
      rng,
      start,
    ),
  print: (records) => {
    const attributed = records.filter((r) => r.attributed)
    const shown = attributed
      .slice(0, SHOWN)
      .map(
        (r) =>
          `${r.product_id} at ${clock(r.clicked_at)}, ${((r.delay_ms ?? 0) / 1000).toFixed(1)} s after its impression`,
      )
    const strays = records.length - attributed.length
    const more = attributed.length > SHOWN ? ` (+${attributed.length - SHOWN} more)` : ''
    return [
      `${attributed.length} attributed click${attributed.length === 1 ? '' : 's'}${shown.length ? `: ${shown.join(', ')}${more}` : ''}${strays ? `; ${strays} unattributed` : ''}`,
    ]
  },
}
