/**
 * How a plan's keyBy nodes are wired for an engine's role in repartitioning: upstream, a repartitioned keyBy
 * routes its keys to the topic; downstream, the keyBy of the engine's topic feeds its window only the keys of
 * the engine's partition and every other keyBy is skipped; outside a staged engine every keyBy feeds its window.
 */
import type { PlanDeps } from '../plan.js'
import type { RepartitionTopic, RepartitionWiring } from '../types.js'
import { partitionForKey } from './codec.js'

/** The plan's keyBy wiring for an engine's repartitioning role (`sender(t, index)` routes to topic t). */
export function repartitionDeps(
  wiring: RepartitionWiring | undefined,
  sender: (t: RepartitionTopic, index: number) => (key: string | number) => void,
): Pick<PlanDeps, 'keyByMode' | 'route' | 'owns'> {
  if (wiring === undefined) return {}
  if (wiring.role === 'upstream') {
    const topics = wiring.topics
    const indexOf = (k: string) => topics.findIndex((t) => t.keyBy === k)
    return {
      keyByMode: (k) => (indexOf(k) >= 0 ? 'route' : 'window'),
      route: (k) => sender(topics[indexOf(k)] as RepartitionTopic, indexOf(k)),
    }
  }
  const { keyBy, partitions } = wiring.topic
  const mine = wiring.partition
  return {
    keyByMode: (k) => (k === keyBy ? 'owned' : 'skip'),
    owns: (_k, key) => partitionForKey(key, partitions) === mine,
  }
}
