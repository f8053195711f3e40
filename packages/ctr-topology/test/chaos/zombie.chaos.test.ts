import { writeFileSync } from 'node:fs'
import rdkafka from '@confluentinc/kafka-javascript'
import { kafkaBrokers, uniqueTopic, waitFor } from '@ctr/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { decodeCheckpoint } from '../../../streams-dsl/src/checkpoint/checkpoint-codec.js'
import { chaosStream } from './chaos-data.js'
import { expectExact, JobProcess, PacedProducer, setUpChaosRun, sleep } from './chaos-job.js'

// (a) Zombie fencing. Two instances share the input (TASKS=auto); one is frozen with SIGSTOP past its session
// timeout, so the other takes its tasks over; then it is woken with SIGCONT (a zombie that still believes it owns
// them), and the new owner is killed with SIGKILL, so the woken one takes every task over again from the
// checkpoints. Results must be exactly the ground truth, and no checkpoint may go back: in the changelog, read in
// order, each task's input offsets never decrease (a zombie writing its older state after its successor's would
// make them go back, and a restore from it would replay or skip). In both delivery guarantees.
// ZOMBIE_LOG=<path prefix> writes every instance's log lines to <prefix>-<n>-<name> at the end, passed or failed
// (for a failure's post-mortem). Each test's instances are killed when it ends, before its Redis database is
// released: the next test leases the same database, and no instance of an earlier test may still be connected.
const jobs: JobProcess[] = []
let ended = 0
afterEach(async () => {
  for (const j of jobs.splice(0)) {
    j.child?.kill('SIGCONT')
    await j.kill()
    if (process.env.ZOMBIE_LOG) writeFileSync(`${process.env.ZOMBIE_LOG}-${ended}-${j.name}`, j.lines.join('\n'))
  }
  ended++
})

type Entry = { task: string; partition: string; offset: number; writtenAt: number }

/** Every checkpoint record of the changelog in log order (read_committed), flattened to its input offsets. */
async function changelog(topic: string): Promise<Entry[]> {
  const consumer = new rdkafka.KafkaConsumer(
    {
      'bootstrap.servers': kafkaBrokers(),
      'group.id': uniqueTopic('changelog-audit'),
      'isolation.level': 'read_committed',
      'enable.partition.eof': true,
      'fetch.message.max.bytes': 64 * 1024 * 1024,
      'receive.message.max.bytes': 130 * 1024 * 1024,
      log_level: 0,
    },
    { 'auto.offset.reset': 'earliest' },
  )
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())))
  try {
    const meta = await new Promise<rdkafka.Metadata>((resolve, reject) =>
      consumer.getMetadata({ topic, timeout: 10_000 }, (err, m) => (err ? reject(err) : resolve(m))),
    )
    const partitions = meta.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? []
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: 0 })))
    const ended = new Set<number>()
    consumer.on('partition.eof', (e) => ended.add(e.partition))
    const out: Entry[] = []
    const deadline = Date.now() + 60_000
    while (ended.size < partitions.length && Date.now() < deadline) {
      const ms = await new Promise<rdkafka.Message[]>((resolve, reject) =>
        consumer.consume(100, (err, m) => (err ? reject(err) : resolve(m))),
      )
      for (const m of ms) {
        if (!m.value) continue
        const cp = decodeCheckpoint(m.value)
        for (const p of cp.task.partitions)
          if (!p.origin && p.nextOffset !== null)
            out.push({
              task: cp.taskId,
              partition: `${p.topic}-${p.partition}`,
              offset: p.nextOffset,
              writtenAt: cp.writtenAt,
            })
      }
    }
    return out
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
}

/** Checkpoints whose offset of a partition is below an earlier checkpoint's of the same task and partition. */
function wentBack(entries: readonly Entry[]): string[] {
  const last = new Map<string, Entry>()
  const back: string[] = []
  for (const e of entries) {
    const key = `${e.task}/${e.partition}`
    const before = last.get(key)
    if (before && e.offset < before.offset)
      back.push(
        `task ${e.task} ${e.partition}: ${before.offset} then ${e.offset} (written ${e.writtenAt - before.writtenAt} ms later)`,
      )
    if (!before || e.offset >= before.offset) last.set(key, e)
  }
  return back
}

describe('chaos: a frozen instance wakes up as a zombie', () => {
  it.each(['at-least-once', 'exactly-once'])(
    'GUARANTEE=%s: SIGSTOP past the session, SIGCONT, kill -9 the new owner: exact, no checkpoint goes back',
    async (guarantee) => {
      const partitions = 4
      const { seed, rnd, topics, redis, env, applicationId } = await setUpChaosRun({
        appPrefix: 'ctr-zombie',
        partitions,
        tasks: 'auto',
      })
      const stream = chaosStream({ events: 60_000, products: 200, partitions, spanMs: 60_000, now: Date.now(), seed })
      const start = (name: string) => {
        const j = new JobProcess(name, { ...env, GUARANTEE: guarantee }).start()
        jobs.push(j)
        return j
      }
      const [a, b] = [start('a'), start('b')]
      // on any failure, the last lines of each instance's log: the post-mortem of a run that cannot be repeated
      const tail = (j: JobProcess) =>
        `${j.name} (${j.alive ? 'alive' : 'gone'}):\n${j.lines
          .slice(-20)
          .map((l) => l.slice(0, 300))
          .join('\n')}`
      try {
        await waitFor(() => [a, b].every((j) => j.count('assigned') > 0), { timeoutMs: 90_000, message: '2 members' })
        const producer = new PacedProducer(topics)
        const producing = producer.produce(stream.records, 2_000).then(() => producer.produce(stream.markers, 1_000))

        await sleep(4_000 + rnd() * 3_000)
        const restoredByB = b.count('restored')
        a.child?.kill('SIGSTOP')
        const frozenAt = producer.sent
        // b takes a's tasks over once a's session (6 s) expires, and goes on past a's last checkpoint
        await waitFor(() => b.count('restored') > restoredByB, { timeoutMs: 60_000, message: 'b took the tasks over' })
        await sleep(3_000 + rnd() * 2_000)
        // a learns it is a zombie: from the group's answer to its commit or membership check, from the client's
        // lost assignment, from a revocation (the client may report the expired session as an ordinary one), or,
        // if it held nothing when frozen (an incremental assignment can leave a member empty for a while), by
        // joining the group's new generation
        const learnt = () =>
          a.count('assignment lost') +
          a.count('the group has moved on') +
          a.count('refused') +
          a.count('revoking') +
          a.count('partition(s)', 'lost ') +
          a.count('partition(s)', 'assigned ')
        const learntBefore = learnt()
        a.child?.kill('SIGCONT')
        await waitFor(() => learnt() > learntBefore, {
          timeoutMs: 60_000,
          message: `seed ${seed}: the woken instance learns its assignment is gone`,
        })
        await sleep(2_000 + rnd() * 2_000)
        const restoredByA = a.count('restored')
        await b.kill()
        await waitFor(() => a.count('restored') > restoredByA, { timeoutMs: 60_000, message: 'a took every task over' })
        await producing
        expect(frozenAt).toBeLessThan(stream.records.length)

        await expectExact(redis, stream.truth, 120_000)
        expect(a.alive, a.lines.slice(-5).join('\n')).toBe(true)
        const entries = await changelog(`${applicationId}-windows-changelog`)
        expect(entries.length).toBeGreaterThan(0)
        expect(wentBack(entries).slice(0, 5), `seed ${seed}: a checkpoint older than its predecessor`).toEqual([])
        console.log(
          `[chaos] ${guarantee} seed ${seed}: a frozen at event ${frozenAt}, woken as a zombie, b killed; exact, ${entries.length} checkpoint entries, none back`,
        )
      } catch (e) {
        const status = await Promise.all([a, b].map((j) => j.statusReport()))
        throw new Error(`seed ${seed}: ${(e as Error).message}\n${tail(a)}\n${tail(b)}\n${status.join('\n')}`)
      }
    },
  )
})
