/**
 * Test oracle of the user-bursts example: for every user and distinct view time t, the user's views in
 * [t - window, t], counted straight from the list, sharing no code with the topology or the DSL.
 */
import type { UserBurst } from './topology.js'

/** Every (user, view time) with the user's views within `window` before it, by time then user. */
export function expectedBursts(
  views: readonly { user_id: string; timestamp: number }[],
  window: number,
  threshold: number,
): UserBurst[] {
  const byUser = new Map<string, number[]>()
  for (const v of views) byUser.set(v.user_id, [...(byUser.get(v.user_id) ?? []), v.timestamp])
  const out: UserBurst[] = []
  for (const [user_id, times] of byUser)
    for (const at of new Set(times)) {
      const n = times.filter((t) => t >= at - window && t <= at).length
      out.push({ user_id, at, views: n, burst: n >= threshold })
    }
  return sorted(out)
}

/** Results by time, then user. */
export const sorted = (rs: readonly UserBurst[]) =>
  [...rs].sort((a, b) => a.at - b.at || (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0))
