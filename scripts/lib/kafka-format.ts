import { spawn } from 'node:child_process'
import { javaCommand } from './kafka-classpath.js'
import type { KafkaNode } from './kafka-layout.js'
import { UserError } from './user-error.js'

/**
 * Formats a node's log directory for the KRaft cluster `clusterId`
 * (`kafka.tools.StorageTool format`; the quorum is static, from
 * `controller.quorum.voters` in the node's config).
 */
export async function formatStorage(node: KafkaNode, clusterId: string, classpath: string): Promise<void> {
  const args = ['-Xmx128m', '-XX:+UseSerialGC', '-cp', classpath, 'kafka.tools.StorageTool']
  args.push('format', '-t', clusterId, '-c', node.configFile)
  const child = spawn(javaCommand(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? 1)))
  if (code !== 0) {
    const line = output.trim().split('\n').filter(Boolean).pop() ?? `exit code ${code}`
    throw new UserError(
      `Formatting the storage of Kafka node ${node.id} failed: ${line} (try \`pnpm kafka:down --clean\`)`,
    )
  }
}
