import { formatDuration } from '../core/duration.js'
import type { GraphNode } from './nodes.js'
import { keyByPartitioning } from './repartition.js'
import type { Topology } from './topology.js'

function detail(t: Topology, n: GraphNode): string {
  switch (n.kind) {
    case 'keyBy': {
      const p = keyByPartitioning(t).find((k) => k.keyBy === n.name)
      if (p?.mode === 'one-task') return p.reason
      return p?.mode === 'co-partitioned'
        ? `co-partitioned: ${p.reason}`
        : `repartitioned via "<application-id>-${n.name}-repartition" (${p?.reason ?? ''})`
    }
    case 'source':
      return `${n.table ? 'table of ' : ''}topic "${n.topic}" (${n.serde.name}${n.timestamp ? ', event time from payload' : ''})`
    case 'window':
      return `${n.spec.name}, allowed lateness ${formatDuration(n.allowedLateness)}, emit ${n.emit}`
    case 'aggregate':
      return n.aggregation.name
    case 'process':
      return `custom processor${n.processor.onTimer ? ' with event-time timers' : ''}, state per key`
    case 'tableAggregate':
      return `${n.aggregation.name} over all time, a result per record`
    case 'deduplicate':
      return `within ${formatDuration(n.within)}, allowed lateness ${formatDuration(n.allowedLateness)}, per task`
    case 'join':
      return `${n.type === 'inner' ? 'inner' : 'left'}, other side from ${formatDuration(n.before)} before to ${formatDuration(n.after)} after, allowed lateness ${formatDuration(n.allowedLateness)}`
    case 'tableJoin':
      return `${n.type}, each record with its row as of its event time, allowed lateness ${formatDuration(n.allowedLateness)}`
    case 'sink':
      return `sink "${n.sink.name}"`
    default:
      return ''
  }
}

/** Renders a topology as text: header with the watermark settings, then one line per node. */
export function describeTopology(t: Topology): string {
  const w = t.watermarks
  const lines = [
    `Topology "${t.name}"`,
    `  watermarks: max out-of-orderness ${formatDuration(w.maxOutOfOrderness)}, idle timeout ${formatDuration(w.idleTimeout)}, max future skew ${formatDuration(w.maxFutureSkew)}`,
  ]
  for (const n of t.nodes) {
    const d = detail(t, n)
    const to = t.consumers.get(n.name) ?? []
    lines.push(`  ${n.kind.padEnd(11)} ${n.name}${d ? ` [${d}]` : ''}${to.length ? ` --> ${to.join(', ')}` : ''}`)
  }
  return lines.join('\n')
}
