/**
 * `pnpm kafka:up [--single]` / `pnpm kafka:down [--clean]` / `pnpm kafka:status`:
 * the local Apache Kafka cluster (KRaft, no Docker), see scripts/lib/kafka-cluster.ts.
 */
import { clusterNodes, clusterSize, isRunning, runningNodeIds, startCluster, stopCluster } from './lib/kafka-cluster.js'
import { runMain, UserError } from './lib/user-error.js'

const log = (line: string) => console.log(`[kafka] ${line}`)
const USAGE = 'usage: tsx scripts/kafka.ts up [--single] | down [--clean] | status'

async function main(): Promise<number> {
  const [command, ...flags] = process.argv.slice(2)
  const unknown = flags.filter((f) => !['--single', '--clean'].includes(f))
  if (unknown.length > 0) throw new UserError(`unknown option ${unknown.join(' ')}; ${USAGE}`)
  switch (command) {
    case 'up': {
      const started = Date.now()
      const info = await startCluster({ size: flags.includes('--single') ? 1 : undefined, log })
      const secs = ((Date.now() - started) / 1000).toFixed(1)
      if (info.alreadyRunning) log(`already running (${info.size} broker${info.size > 1 ? 's' : ''})`)
      else log(`up in ${secs} s: ${info.size} broker${info.size > 1 ? 's' : ''}, accepts acks=all writes`)
      console.log(`KAFKA_BROKERS=${info.bootstrap}`)
      return 0
    }
    case 'down': {
      const stopped = await stopCluster({ clean: flags.includes('--clean'), log })
      if (stopped.length === 0) log('not running')
      else log('stopped')
      return 0
    }
    case 'status': {
      const running = runningNodeIds()
      const nodes = clusterNodes()
      log(
        `${clusterSize()}-broker cluster: ${isRunning() ? 'running' : running.length > 0 ? `nodes ${running.join(', ')} running` : 'stopped'}` +
          ` (${nodes.map((n) => `node ${n.id} 127.0.0.1:${n.brokerPort}`).join(', ')})`,
      )
      return isRunning() ? 0 : 3
    }
    default:
      throw new UserError(USAGE)
  }
}

await runMain(main)
