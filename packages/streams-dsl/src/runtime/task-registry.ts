/**
 * The engine's registry of input partitions and tasks: every partition it has seen (its slot, its task, its
 * position and watermark state), the partitions it owns (whose offsets it commits), and the task ids by index.
 * The engine, the snapshot and the checkpointer share it; nothing else keeps partition or task state.
 */
import type { TopicPartition } from '../connectors/types.js'
import type { TaskGrouping } from './types.js'
import type { PartitionState, WatermarkTracker } from './watermarks.js'

/** What the registry needs to know about the engine's inputs. */
export type TaskRegistryOptions = {
  readonly grouping: TaskGrouping
  readonly tracker: WatermarkTracker
  /** True for a source topic of the topology. */
  readonly isSource: (topic: string) => boolean
  /** True for the engine's repartition input topic (downstream side of a staged engine). */
  readonly isRepartitionInput: (topic: string) => boolean
  /** For messages: the topology's name. */
  readonly topologyName: string
}

/** Partitions and tasks of one engine. */
export class TaskRegistry {
  /** Every partition ever seen, by `topic:partition`; slots are never reused. */
  readonly partitions = new Map<string, PartitionState>()
  /** Every partition ever seen, by slot. */
  readonly slots: PartitionState[] = []
  /** Task ids by index. */
  readonly taskIds: string[] = []
  /** Assigned partitions whose offsets this engine commits (the sources', or its repartition partition). */
  readonly inputs: PartitionState[] = []

  constructor(private readonly options: TaskRegistryOptions) {}

  /**
   * The state of an input partition; registers it when new or revoked: a source partition counts towards W from
   * `now`; the repartition partition of a downstream engine only holds offsets (its W comes from the origins).
   */
  partitionOf(tp: TopicPartition, now: number, viaBatch: boolean): PartitionState {
    const p = this.stateOf(tp, now, viaBatch)
    if (!this.inputs.includes(p)) this.inputs.push(p)
    if (this.options.isRepartitionInput(tp.topic)) return p
    this.track(p, now)
    return p
  }

  /** The watermark view of a source partition upstream of this engine's repartition topic. */
  originOf(topic: string, partition: number, now: number): PartitionState {
    const p = this.stateOf({ topic, partition }, now, false)
    if (!p.origin) {
      p.origin = true
      p.task = this.taskIndex({ topic, partition })
    }
    this.track(p, now)
    return p
  }

  /** Stops owning an input partition; returns it, or undefined when it was not one. */
  release(tp: TopicPartition): PartitionState | undefined {
    const p = this.partitions.get(`${tp.topic}:${tp.partition}`)
    if (!p || !this.inputs.includes(p)) return undefined
    this.inputs.splice(this.inputs.indexOf(p), 1)
    return p
  }

  /** True while some owned input partition belongs to the task. */
  owns(task: number): boolean {
    return this.inputs.some((q) => q.task === task)
  }

  /** The index of the task a partition belongs to. */
  taskIndex(tp: TopicPartition): number {
    const g = this.options.grouping
    return this.taskIndexById(g === 'single' ? '0' : g === 'partition' ? String(tp.partition) : g(tp))
  }

  /** The index of a task by id, created when new. */
  taskIndexById(id: string): number {
    const i = this.taskIds.indexOf(id)
    if (i >= 0) return i
    this.taskIds.push(id)
    return this.taskIds.length - 1
  }

  /** Adds a partition to the watermark (from `now`, not idle) if it is not in it. */
  private track(p: PartitionState, now: number): void {
    const tracker = this.options.tracker
    if (!tracker.partitions.includes(p)) {
      p.lastActivity = now
      p.idle = false
      tracker.add(p)
    }
  }

  private stateOf(tp: TopicPartition, now: number, viaBatch: boolean): PartitionState {
    const id = `${tp.topic}:${tp.partition}`
    let p = this.partitions.get(id)
    if (!p) {
      const o = this.options
      if (viaBatch === false && !o.isSource(tp.topic) && !o.isRepartitionInput(tp.topic)) {
        throw new Error(`topic "${tp.topic}" is not a source of topology "${o.topologyName}"`)
      }
      p = {
        topic: tp.topic,
        partition: tp.partition,
        slot: this.slots.length,
        task: this.taskIndex(tp),
        nextOffset: null,
        maxEventTime: Number.NEGATIVE_INFINITY,
        lastActivity: now,
        lastEventWallTime: null,
        idle: false,
        replayUntil: -1,
        origin: false,
        vouchedAt: null,
      }
      this.partitions.set(id, p)
      this.slots.push(p)
    }
    return p
  }
}
