import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { javaCommand } from './kafka-classpath.js'
import type { KafkaNode } from './kafka-layout.js'

/** JVM options of each node: small heaps and a serial GC, as 3 JVMs share 2 cores with the tests. */
const DEFAULT_HEAP_OPTS = '-Xmx384m -Xms128m'
const JVM_OPTS = ['-XX:+UseSerialGC', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true']

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  // A zombie (exited, not yet reaped by its parent) still answers signal 0.
  const stat = `/proc/${pid}/stat`
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'))
  } catch {
    return !existsSync('/proc')
  }
}

/** The pid of the node's JVM when it is running (pid file present, process alive and really that node). */
export function nodePid(node: KafkaNode): number | null {
  if (!existsSync(node.pidFile)) return null
  const pid = Number(readFileSync(node.pidFile, 'utf8').trim())
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return null
  // Guard against pid reuse: the process must be a JVM started with this node's config.
  const cmdline = `/proc/${pid}/cmdline`
  if (existsSync(cmdline)) {
    const args = readFileSync(cmdline, 'utf8')
    if (!args.includes(node.configFile)) return null
  }
  return pid
}

/** True when the node's JVM is running. */
export function nodeRunning(node: KafkaNode): boolean {
  return nodePid(node) !== null
}

/** True when nothing listens on 127.0.0.1:port (checked by binding it briefly). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/**
 * Starts the node's JVM in the background (detached: it outlives this process)
 * and writes its pid file. stdout/stderr go to `<logs>/kafka.out`; log4j writes
 * `<logs>/server.log`. Heap size: `KAFKA_HEAP_OPTS`, else -Xmx384m -Xms128m.
 */
export function spawnNode(node: KafkaNode, classpath: string, log4jConfig: string): number {
  mkdirSync(node.logsDir, { recursive: true })
  const out = openSync(`${node.logsDir}/kafka.out`, 'a')
  const heap = (process.env.KAFKA_HEAP_OPTS ?? DEFAULT_HEAP_OPTS).split(/\s+/).filter(Boolean)
  const args = [
    ...heap,
    ...JVM_OPTS,
    `-Dlog4j2.configurationFile=${log4jConfig}`,
    `-Dkafka.logs.dir=${node.logsDir}`,
    '-cp',
    classpath,
    'kafka.Kafka',
    node.configFile,
  ]
  const child = spawn(javaCommand(), args, { detached: true, stdio: ['ignore', out, out] })
  closeSync(out)
  if (child.pid === undefined) throw new Error(`could not start java for Kafka node ${node.id}`)
  child.unref()
  writeFileSync(node.pidFile, `${child.pid}\n`)
  return child.pid
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Stops the node's JVM: SIGTERM (Kafka shuts down cleanly, handing over
 * leadership), then SIGKILL if it is still alive after `graceMs`. Removes the
 * pid file. Returns false when the node was not running.
 */
export async function stopNode(
  node: KafkaNode,
  opts: { graceMs?: number; signal?: NodeJS.Signals } = {},
): Promise<boolean> {
  const pid = nodePid(node)
  if (pid === null) {
    rmSync(node.pidFile, { force: true })
    return false
  }
  const deadline = Date.now() + (opts.graceMs ?? 30_000)
  process.kill(pid, opts.signal ?? 'SIGTERM')
  while (pidAlive(pid) && Date.now() < deadline) await sleep(200)
  if (pidAlive(pid)) {
    process.kill(pid, 'SIGKILL')
    while (pidAlive(pid)) await sleep(100)
  }
  rmSync(node.pidFile, { force: true })
  return true
}

/** The last lines of the node's logs, to explain why it died. */
export function logTail(node: KafkaNode, lines = 5): string {
  for (const name of ['kafka.out', 'server.log']) {
    const file = `${node.logsDir}/${name}`
    if (!existsSync(file)) continue
    const text = readFileSync(file, 'utf8').trim()
    const errors = text.split('\n').filter((l) => /ERROR|Exception|Error:/.test(l))
    if (errors.length > 0) return errors.slice(-lines).join('\n')
  }
  return ''
}
