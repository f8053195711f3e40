import type { CheckpointStore } from '../checkpoint/checkpoint.js'
import type { CheckpointConfig } from '../checkpoint/checkpoint-config.js'
import {
  Checkpointer,
  type CheckpointGuard,
  type CheckpointResult,
  type InvalidCheckpointHandler,
  type RestoreResult,
} from '../checkpoint/checkpointer.js'
import { StagedCheckpointer } from '../checkpoint/staged-checkpointer.js'
import type { ConnectorLogger } from '../connectors/kafka/client.js'
import type { MessageSender } from '../connectors/kafka/transactions.js'
import type { RepartitionRecord, Sink, TopicPartition } from '../connectors/types.js'
import { chainedKeyBys, chainedMessage, type KeyByPartitioning, keyByPartitioning } from '../graph/repartition.js'
import type { Topology } from '../graph/topology.js'
import { createEngine } from '../runtime/engine.js'
import { repartitionTopic } from '../runtime/repartition/codec.js'
import { createStagedEngine } from '../runtime/repartition/staged-engine.js'
import type { Engine, EngineOptions, RepartitionTopic, TaskGrouping } from '../runtime/types.js'
import { ConfigError } from './env-parse.js'
import type { KafkaPlatform } from './kafka-platform.js'

/**
 * How the runner spreads a topology over tasks: `'auto'` decides per keyBy (co-partitioned input: a task per
 * partition number; any other input: repartitioned through an internal topic, a task per partition of it), so
 * several instances count exactly whatever the input's keys. `'single'`: one task holding every partition
 * (exact for any keying on one instance, no internal topic). `'partition'` or a function: fixed grouping.
 *
 * @example
 * await run(t, { tasks: 'auto' }) // several instances with one APPLICATION_ID share any input exactly
 */
export type TaskMode = TaskGrouping | 'auto'

/** What checkpoints and restores an engine's tasks. */
export type TaskCheckpointer = {
  readonly store: CheckpointStore
  /** Asked right before checkpoints are written; false skips them. */
  guard: CheckpointGuard | undefined
  checkpoint(): Promise<CheckpointResult>
  restore(partitions: readonly TopicPartition[]): Promise<RestoreResult>
}

/** The engine a runner drives, and what goes with it. */
export type EngineSetup = {
  readonly engine: Engine
  readonly checkpointer: TaskCheckpointer | undefined
  /** Topics to subscribe to: the sources, plus the repartition topics. */
  readonly topics: readonly string[]
  /** `range` when tasks span several topics' partitions (they must stay together); else cooperative-sticky. */
  readonly assignmentStrategy: 'range' | undefined
  /** Per keyBy: repartitioned or co-partitioned, and why (for the start-up log and /status). */
  readonly partitioning: readonly KeyByPartitioning[]
  readonly repartitionTopics: readonly RepartitionTopic[]
  close(): Promise<void>
}

type SetupOptions = {
  readonly tasks: TaskMode
  readonly applicationId: string
  readonly brokers: string
  readonly checkpoints: CheckpointConfig
  readonly engine: Omit<EngineOptions, 'tasks' | 'repartition'>
  readonly logger: ConnectorLogger
  /**
   * `max.message.bytes` for the internal topics this creates (the largest of the source topics' plus room for the
   * internal framing, when above the broker default), so that a record any source accepts fits them whole.
   */
  readonly internalMaxMessageBytes?: number
  /** Records of the changelog that are not usable checkpoints (dead-lettered by the runner). */
  readonly onInvalidCheckpoint?: InvalidCheckpointHandler
  /** Under exactly-once: the transaction the repartition records and the checkpoints are written in. */
  readonly producer?: MessageSender
  /** Where checkpoints go instead of the Kafka changelog `<application-id>-windows-changelog`. */
  readonly checkpointStore?: CheckpointStore
  /** The source topics' partition counts, when they are not Kafka's to describe (a source of the user's). */
  readonly partitionCounts?: ReadonlyMap<string, number>
  /**
   * Every keyBy repartitioned through topics of this many partitions written to `sink` (the test driver's
   * in-memory topics, read back by its source), whatever `tasks` says.
   */
  readonly repartitionThrough?: { readonly partitions: number; readonly sink: Sink<RepartitionRecord> }
  /** Kafka's side (runner/kafka-platform.ts), loaded by the runner; needed unless counts and store are given. */
  readonly kafka?: KafkaPlatform
}

/** Builds the engine (plain or staged), its checkpointer and the internal topics it needs. */
export async function setupEngine(topology: Topology, o: SetupOptions): Promise<EngineSetup> {
  const chained = chainedKeyBys(topology)
  if (chained.length > 0 && o.tasks !== 'single')
    throw new ConfigError(`topology "${topology.name}": ${chained[0]} ${chainedMessage}; set TASKS=single`)
  const kafka = (): KafkaPlatform => {
    if (!o.kafka) throw new Error('setupEngine: this setup needs Kafka (option kafka)')
    return o.kafka
  }
  const counts = o.partitionCounts ?? (await kafka().describeCluster(o.brokers)).topics
  const partitioning = keyByPartitioning(topology, counts)
  const changelog = async (partitions: number): Promise<CheckpointStore> =>
    o.checkpointStore ??
    kafka().KafkaChangelogStore.open({
      applicationId: o.applicationId,
      partitions,
      brokers: o.brokers,
      logger: o.logger,
      ...(o.producer && { producer: o.producer }),
    })
  const sourcePartitions = Math.max(1, ...topology.sourceTopics.map((t) => counts.get(t) ?? 1))
  const plain = async (tasks: TaskGrouping): Promise<EngineSetup> => {
    const engine = createEngine(topology, { ...o.engine, tasks })
    // One changelog partition per task when tasks are partitions (Kafka Streams' layout): restore reads one tail.
    const checkpointer = o.checkpoints.enabled
      ? new Checkpointer(
          engine,
          await changelog(tasks === 'partition' ? sourcePartitions : 1),
          o.logger,
          o.onInvalidCheckpoint,
        )
      : undefined
    if (checkpointer) checkpointer.incremental = o.checkpoints.incremental ?? false
    return {
      engine,
      checkpointer,
      topics: topology.sourceTopics,
      // The range assignor gives every instance the same partition numbers of co-partitioned topics, so a task's
      // partitions stay together; cooperative-sticky does not, so it is used only for a single task.
      assignmentStrategy: o.checkpoints.enabled && tasks !== 'single' ? 'range' : undefined,
      partitioning,
      repartitionTopics: [],
      close: async () => {},
    }
  }
  /** A staged engine over these repartition topics, written to `sink`, with its checkpointer. */
  const staged = async (
    topics: readonly RepartitionTopic[],
    sink: Sink<RepartitionRecord>,
    copartitioned: boolean,
  ): Promise<EngineSetup> => {
    const engine = createStagedEngine(topology, {
      ...o.engine,
      topics,
      sink,
      origins: originsOf(topology, counts),
      ...(copartitioned && { upstreamTasks: 'partition' as const }),
    })
    const partitions = Math.max(sourcePartitions, ...topics.map((t) => t.partitions))
    const checkpointer = o.checkpoints.enabled
      ? new StagedCheckpointer(engine, await changelog(partitions), o.logger, o.onInvalidCheckpoint)
      : undefined
    if (checkpointer) checkpointer.incremental = o.checkpoints.incremental ?? false
    return {
      engine,
      checkpointer,
      topics: [...topology.sourceTopics, ...topics.map((t) => t.topic)],
      assignmentStrategy: copartitioned ? 'range' : undefined,
      partitioning,
      repartitionTopics: topics,
      close: async () => {
        await sink.close?.()
      },
    }
  }
  const through = o.repartitionThrough
  if (through) {
    const keyBys = topology.nodes.filter((n) => n.kind === 'keyBy')
    const topics = keyBys.map((n) => ({
      keyBy: n.name,
      topic: repartitionTopic(o.applicationId, n.name),
      partitions: through.partitions,
    }))
    return staged(topics, through.sink, false)
  }
  if (o.tasks !== 'auto') return plain(o.tasks)

  const missing = topology.sourceTopics.filter((t) => !counts.has(t))
  if (missing.length > 0)
    throw new ConfigError(`topic ${missing.map((t) => `"${t}"`).join(', ')} does not exist; create it first`)
  const routed = partitioning.filter((k) => k.mode === 'repartitioned')
  if (routed.length === 0) return plain('partition')
  if (!o.checkpoints.enabled)
    throw new ConfigError(
      `CHECKPOINTS=off: ${routed.map((k) => k.keyBy).join(', ')} need(s) a repartition topic, which needs checkpoints (set CHECKPOINTS=on, TASKS=single, or declare the input co-partitioned)`,
    )
  const wanted = routed.map((k) => ({
    keyBy: k.keyBy,
    topic: repartitionTopic(o.applicationId, k.keyBy),
    partitions: sourcePartitions,
  }))
  const {
    alterTopicCommand,
    describeCluster,
    describeTopicConfigs,
    ensureTopics,
    kafkaRepartitionSink,
    maxMessageBytesOf,
  } = kafka()
  const big = o.internalMaxMessageBytes
  await ensureTopics(
    wanted.map((t) => ({
      topic: t.topic,
      partitions: t.partitions,
      ...(big !== undefined && { config: { 'max.message.bytes': String(big) } }),
    })),
    o.brokers,
  )
  // an existing repartition topic keeps its partition count and its settings
  const now = (await describeCluster(o.brokers)).topics
  const limits = await describeTopicConfigs(
    wanted.map((t) => t.topic),
    o.brokers,
    ['max.message.bytes'],
  ).catch((e: Error) => {
    o.logger.warn({ err: e.message }, `${e.message}; assuming the broker default max.message.bytes`)
    return new Map() as Awaited<ReturnType<typeof describeTopicConfigs>>
  })
  const topics: RepartitionTopic[] = wanted.map((t) => ({
    ...t,
    partitions: now.get(t.topic) ?? t.partitions,
    maxMessageBytes: maxMessageBytesOf(limits, t.topic),
  }))
  for (const t of topics)
    if (big !== undefined && (t.maxMessageBytes as number) < big)
      o.logger.warn(
        { topic: t.topic, maxMessageBytes: t.maxMessageBytes, wanted: big },
        `repartition topic ${t.topic} accepts records of at most ${t.maxMessageBytes} bytes, less than the source topics: a larger record goes to the DLQ as record_too_large; run \`${alterTopicCommand(o.brokers, t.topic, `max.message.bytes=${big}`)}\``,
      )
  const sink = kafkaRepartitionSink({
    maxMessageBytes: Object.fromEntries(topics.map((t) => [t.topic, t.maxMessageBytes as number])),
    brokers: o.brokers,
    clientId: `${o.applicationId}-repartition`,
    logger: o.logger,
    ...(o.producer && { producer: o.producer }),
  })
  return staged(
    topics,
    sink,
    partitioning.some((k) => k.mode === 'co-partitioned'),
  )
}

/** Every partition of every source topic: the partitions W is the least over. */
function originsOf(topology: Topology, counts: ReadonlyMap<string, number>): TopicPartition[] {
  return topology.sourceTopics.flatMap((topic) =>
    Array.from({ length: counts.get(topic) ?? 0 }, (_, partition) => ({ topic, partition })),
  )
}
