/**
 * `npm start` (after bootstrap) / `pnpm pipeline`: the whole CTR pipeline in the foreground.
 *
 * 0. What an earlier run left: another `npm start` still running is refused; its orphaned children
 *    (pid files in .run/pipeline/, exact command line) are stopped (scripts/lib/leftovers.ts).
 * 1. Kafka: the one at KAFKA_BROKERS when it answers, else the local cluster (scripts/lib/kafka-cluster.ts).
 * 2. Redis: the one at REDIS_URL, else a `redis-server` started here (stopped at the end).
 * 3. Topics: scripts/topics-create.ts (idempotent).
 * 4. The job, the API and the producers as children (logs in .run/logs/), each waited for until ready.
 * 5. The URLs, then one live status line from the job's /status every 2 s.
 * Ctrl-C / SIGTERM / SIGHUP (the terminal closed) / a crash of this process stops producers, job and API in
 * that order; if this process is killed outright they stop by themselves (scripts/lib/supervisor-watch.mjs).
 * Kafka keeps running (`pnpm kafka:down`). A child that dies early is named with the tail of its log, the
 * rest is stopped, exit code 1.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { runDir, runningPid, serviceArgv } from './lib/background.js'
import { ForegroundRun } from './lib/foreground.js'
import { buildJob } from './lib/job-build.js'
import { jobService } from './lib/job-service.js'
import { brokerIds, brokerList } from './lib/kafka-admin.js'
import { clusterNodes, startCluster } from './lib/kafka-cluster.js'
import { portFree } from './lib/kafka-process.js'
import { repoRoot } from './lib/paths.js'
import { busyPortMessage } from './lib/port-holder.js'
import { ensureRedis, type LocalRedis } from './lib/redis-local.js'
import { formatStatusLine, type JobFigures, jobFigures } from './lib/status-line.js'
import type { Supervised } from './lib/supervisor.js'
import { runMain, UserError } from './lib/user-error.js'

const say = (line: string) => console.log(`[start] ${line}`)
const tty = process.stdout.isTTY === true
const apiPort = Number(process.env.PORT ?? 8000)
const jobPort = Number(process.env.JOB_PORT ?? 8001)
const api = `http://127.0.0.1:${apiPort}`
const job = `http://127.0.0.1:${jobPort}`
const STOP_ORDER = ['producers', 'job', 'api', 'redis']
/** The pid files of a run: the supervisor's own and each child's (what the next start checks). */
const pidDir = join(runDir, 'pipeline')

function graceMs(): number {
  const raw = process.env.STOP_GRACE_MS ?? '15000'
  const ms = Number(raw)
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new UserError(`STOP_GRACE_MS="${raw}" is not a positive number of milliseconds (default 15000)`)
  }
  return ms
}

/** The broker list to use: KAFKA_BROKERS when it answers, else the local cluster (started if needed). */
async function ensureKafka(): Promise<string> {
  const wanted = process.env.KAFKA_BROKERS
  const localPorts = new Set(clusterNodes().map((n) => n.brokerPort))
  const isLocal = (b: string) =>
    brokerList(b).every((hp) => {
      const [host, port] = hp.split(':')
      return ['127.0.0.1', 'localhost'].includes(host ?? '') && localPorts.has(Number(port))
    })
  if (wanted) {
    const answers = await brokerIds(wanted, 3000).then(
      () => true,
      () => false,
    )
    if (answers) {
      say(`Kafka: using ${wanted} (KAFKA_BROKERS)`)
      return wanted
    }
    if (!isLocal(wanted)) {
      throw new UserError(
        `Kafka not reachable at ${wanted} (KAFKA_BROKERS); start it, or unset KAFKA_BROKERS to run the local cluster`,
      )
    }
  }
  const info = await startCluster({ log: (l) => say(`Kafka: ${l}`) })
  say(`Kafka: ${info.alreadyRunning ? 'local cluster already running' : 'local cluster up'} at ${info.bootstrap}`)
  return wanted ?? info.bootstrap
}

function createTopics(brokers: string): void {
  const { command, args } = serviceArgv({ name: 'topics', entry: 'scripts/topics-create.ts' })
  const r = spawnSync(command, args, {
    cwd: repoRoot,
    env: { ...process.env, KAFKA_BROKERS: brokers },
    encoding: 'utf8',
  })
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim()
  if (r.status !== 0) throw new UserError(`creating topics failed:\n${out}`)
  for (const line of out.split('\n').filter(Boolean)) say(`topics: ${line.replace(/^\[[^\]]*\]\s*/, '')}`)
}

async function checkPortsAndBackground(): Promise<void> {
  for (const name of ['job', 'producers']) {
    const pid = runningPid(name === 'job' ? jobService() : { name, entry: 'examples/producers/src/main.ts' })
    if (pid !== null)
      throw new UserError(`the ${name} already runs in the background (pid ${pid}); stop it first: pnpm ${name}:stop`)
  }
  for (const [port, what, envVar] of [
    [apiPort, 'API', 'PORT'],
    [jobPort, 'job status', 'JOB_PORT'],
  ] as const) {
    if (!(await portFree(port))) throw new UserError(busyPortMessage(port, what, envVar))
  }
}

const httpOk = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(1500) })).ok

/** What the run holds besides its children, released when it ends. */
const held: { redis: LocalRedis | null; statusTimer?: NodeJS.Timeout } = { redis: null }

async function main(): Promise<number> {
  const clearLine = () => tty && process.stdout.write('\r\x1b[K')
  const run = await ForegroundRun.begin({
    name: 'start',
    command: 'npm start',
    pidDir,
    stopOrder: STOP_ORDER,
    graceMs: graceMs(),
    beforeStop: () => {
      clearInterval(held.statusTimer)
      clearLine()
    },
    afterStop: () => {
      if (held.redis) {
        held.redis.stop()
        say(`stopped the redis-server started for this run (port ${held.redis.port})`)
      }
      say('stopped. Kafka is still running (topics and data kept); stop it with: pnpm kafka:down')
    },
  })
  process.on('exit', () => held.redis?.stop())
  try {
    return await pipeline(run)
  } catch (e) {
    // A one-line error once the run owns something (a Redis, a child): report it and end the run in order.
    if (!(e instanceof UserError)) throw e
    console.error(e.message)
    return run.end(1)
  }
}

/** Steps 1-5 of the header; runs until a signal or a child's death ends `run`. */
async function pipeline(run: ForegroundRun): Promise<number> {
  await checkPortsAndBackground()

  // Signals are handled from here on: a Ctrl-C while Kafka starts stops cleanly too.
  const brokers = await ensureKafka()
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  held.redis = await ensureRedis(redisUrl, (l) => say(`Redis: ${l}`), { pidFile: join(pidDir, 'redis.pid') })
  if (!held.redis) say(`Redis: using ${redisUrl}`)
  createTopics(brokers)
  await buildJob()

  const env = { KAFKA_BROKERS: brokers, REDIS_URL: redisUrl }
  const services: Supervised[] = [
    {
      ...jobService({ env }),
      title: 'the job',
      ready: () => httpOk(`${job}/status`),
      readyTimeoutMs: 60_000,
    },
    {
      name: 'api',
      title: 'the API',
      entry: 'packages/serving/src/main.ts',
      env: { ...env, JOB_STATUS_URL: process.env.JOB_STATUS_URL ?? `${job}/status` },
      ready: () => httpOk(`${api}/healthz`),
      readyTimeoutMs: 30_000,
    },
    {
      name: 'producers',
      title: 'the producers',
      entry: 'examples/producers/src/main.ts',
      // A little of everything the job handles, unless set otherwise (see examples/producers/README.md).
      env: {
        ...env,
        PRODUCER_OUT_OF_ORDER: process.env.PRODUCER_OUT_OF_ORDER ?? '0.1',
        PRODUCER_LATE: process.env.PRODUCER_LATE ?? '0.005',
        PRODUCER_TOO_LATE: process.env.PRODUCER_TOO_LATE ?? '0.002',
        PRODUCER_MALFORMED: process.env.PRODUCER_MALFORMED ?? '0.002',
      },
      ready: async (log) => log.includes('[producers] producing'),
      readyTimeoutMs: 30_000,
    },
  ]
  for (const s of services) {
    if (!run.ending) say(`starting ${s.title} (log .run/logs/${s.name}.log)`)
    await run.start(s) // returns only once the service is ready; never when the run ends meanwhile
  }

  say('ready:')
  for (const [what, url] of [
    ['CTR, latest', `${api}/ctr/latest`] as const,
    ['dashboard', `${api}/`],
    ['API docs', `${api}/docs`],
    ['job status', `${job}/status`],
    ['job metrics', `${job}/metrics`],
    ['API metrics', `${api}/metrics`],
  ]) {
    console.log(`    ${what.padEnd(12)} ${url}`)
  }
  say(`logs in ${join('.run', 'logs')}/; Ctrl-C stops the pipeline`)

  let before: { figures: JobFigures; at: number } | null = null
  let lastPrinted = 0
  held.statusTimer = setInterval(async () => {
    const at = Date.now()
    const figures = await fetch(`${job}/status`, { signal: AbortSignal.timeout(1500) })
      .then((r) => r.json())
      .then(jobFigures, () => null)
    if (run.ending) return
    if (!figures) {
      if (tty) process.stdout.write('\r\x1b[K[status] job status not available')
      return
    }
    const line = `[status] ${formatStatusLine(figures, before?.figures ?? null, before ? at - before.at : 0, at)}`
    before = { figures, at }
    if (tty) process.stdout.write(`\r\x1b[K${line}`)
    else if (at - lastPrinted >= 10_000) {
      console.log(line)
      lastPrinted = at
    }
  }, 2000)
  return new Promise<number>(() => {}) // runs until a signal or a child's death
}

await runMain(main)
