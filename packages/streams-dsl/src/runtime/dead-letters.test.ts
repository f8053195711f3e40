import { describe, expect, it } from 'vitest'
import type { DeadLetter, RawRecord } from '../connectors/types.js'
import type { EngineCounters } from './context.js'
import { DeadLetterRouter } from './dead-letters.js'

const rec: RawRecord = { topic: 't', partition: 0, offset: 7, key: null, value: null, timestamp: 0 }
const counters = (): EngineCounters => ({
  eventsIn: 0,
  late: 0,
  deadLetters: 0,
  windowsEmitted: 0,
  lateFirings: 0,
  duplicatesDropped: 0,
})

describe('dead-letter routing', () => {
  it('sends late events to lateEvents(), else to deadLetters(); other reasons to deadLetters()', () => {
    const late: DeadLetter[] = []
    const dead: DeadLetter[] = []
    const c = counters()
    const r = new DeadLetterRouter(c, true)
    r.useRoutes({ deadLetters: (d) => dead.push(d), lateEvents: (d) => late.push(d) })
    r.send('late_event', 'late', rec)
    r.send('invalid_json', 'bad', rec)
    expect(late.map((d) => d.reason)).toEqual(['late_event'])
    expect(dead.map((d) => d.reason)).toEqual(['invalid_json'])
    r.useRoutes({ deadLetters: (d) => dead.push(d), lateEvents: undefined })
    r.send('late_event', 'late', rec)
    expect(dead.map((d) => d.reason)).toEqual(['invalid_json', 'late_event'])
    expect(r.take()).toBeUndefined() // all routed by the topology: nothing for the engine's sink
    expect(c.deadLetters).toBe(3)
  })

  it('keeps what the topology does not route for the engine sink, or only counts it without one', () => {
    const withSink = new DeadLetterRouter(counters(), true)
    withSink.send('future_timestamp', 'ahead', rec)
    withSink.send('late_event', 'late', rec)
    expect(withSink.take()?.map((d) => [d.reason, d.message, d.record.offset])).toEqual([
      ['future_timestamp', 'ahead', 7],
      ['late_event', 'late', 7],
    ])
    expect(withSink.take()).toBeUndefined()
    const c = counters()
    const without = new DeadLetterRouter(c, false)
    without.send('invalid_event', 'x', rec)
    expect(without.take()).toBeUndefined()
    expect(c.deadLetters).toBe(1)
  })
})
