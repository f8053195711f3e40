import type { Rng } from '@ctr/producers'
import type { Sink, Topology } from '@ctr/streams-dsl'
import type { ProducerMessage } from '@ctr/streams-dsl/kafka'

/** What `pnpm example <name>` resolved before the example is built: where it reads and writes. */
export type ExampleContext = {
  readonly applicationId: string
  /** The input topic. */
  readonly input: string
  /** The second input topic, for an example that reads two (a join). */
  readonly secondInput?: string | undefined
  /** The output topic, for an example that writes to Kafka. */
  readonly output: string | undefined
  readonly kafkaBrokers: string
  readonly redisUrl: string
}

/** Makes an example's input: called every few hundred ms with the wall clock. */
export interface InputGenerator {
  /** The records due by `now`, ready for the input topic. */
  tick(now: number): ProducerMessage[]
  /** The records due by `now` for the second input topic, for an example that reads two. */
  tickSecond?(now: number): ProducerMessage[]
}

/**
 * One runnable example: its topology, where its results go, a producer for its input, and how to print a
 * write of results in a line or two. `pnpm example <name>` runs it (harness/run-example.ts).
 */
export type Example<R> = {
  readonly name: string
  /** What it computes, in one line. */
  readonly summary: string
  /** Default input topic (`--input-topic` overrides it). */
  readonly input: string
  /** Default second input topic, for an example that reads two (a join). */
  readonly secondInput?: string
  /** Default output topic, for an example that writes to Kafka (`--output-topic` overrides it). */
  readonly output?: string
  /** Whether it writes to Redis (the runner then checks that Redis answers at start). */
  readonly usesRedis: boolean
  /** The results sink, and a sentence saying where the results are and how to look at them. */
  results(ctx: ExampleContext): { readonly sink: Sink<R>; readonly where: string }
  topology(ctx: ExampleContext, results: Sink<R>): Topology
  producer(rng: Rng, start: number): InputGenerator
  /** Lines to print for one write of results (after it is durable). */
  print(records: readonly R[]): string[]
}

/** Time of day of an epoch-ms instant, UTC: `12:00:10`. */
export const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19)

/** A window as `12:00:00-12:01:00` (UTC). */
export const span = (start: number, end: number): string => `${clock(start)}-${clock(end)}`
