import { describe, expect, it } from 'vitest'
import { type RunnerStatus, statusSummary } from './status.js'

describe('statusSummary', () => {
  it('says the state, the error, W, what holds the oldest window, dead letters and every partition', () => {
    const s = {
      applicationId: 'ctr',
      topology: 'ctr',
      state: 'failed',
      error: 'redis: connection refused',
      uptimeSeconds: 3,
      watermark: 1000,
      allIdle: false,
      windows: { open: 2, oldest: { reason: 'partition clicks-1 has delivered no event yet' } },
      counters: { eventsIn: 7 },
      deadLetters: { late_event: 1 },
      paused: true,
      pauses: 1,
      sinks: [],
      partitions: [
        {
          topic: 'clicks',
          partition: 1,
          task: '0',
          position: 5,
          committed: 4,
          highWatermark: 9,
          lag: 4,
          watermark: null,
        },
      ],
    } as unknown as RunnerStatus
    expect(statusSummary(s, 'job-a').split('\n')).toEqual([
      'job-a /status: failed (redis: connection refused), watermark 1000, input paused, 2 open windows; oldest: partition clicks-1 has delivered no event yet',
      '  dead letters {"late_event":1}, events in 7',
      '  clicks-1 task 0 position 5 committed 4 end 9 lag 4 W -',
    ])
  })
})
