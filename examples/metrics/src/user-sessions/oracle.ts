/**
 * Test oracle of the user-sessions example: sessions cut straight from each user's sorted views, sharing no
 * code with the topology or the DSL.
 */
import type { UserSession } from './topology.js'

/** Sessions straight from the definition: a user's views sorted by time, cut where two are more than the gap apart. */
export function expectedSessions(views: readonly { user_id: string; timestamp: number }[], gap: number): UserSession[] {
  const byUser = new Map<string, number[]>()
  for (const v of views) byUser.set(v.user_id, [...(byUser.get(v.user_id) ?? []), v.timestamp])
  const out: UserSession[] = []
  for (const [user_id, times] of byUser) {
    times.sort((a, b) => a - b)
    let first = times[0] as number
    let count = 0
    for (let i = 0; i < times.length; i++) {
      const t = times[i] as number
      count++
      const next = times[i + 1]
      if (next === undefined || next - t > gap) {
        out.push({ user_id, first_view: first, last_view: t, duration_ms: t - first, views: count })
        if (next !== undefined) first = next
        count = 0
      }
    }
  }
  return sorted(out)
}

/** Sessions by first view, then user. */
export const sorted = (rs: readonly UserSession[]) =>
  [...rs].sort((a, b) => a.first_view - b.first_view || (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0))
