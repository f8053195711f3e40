import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ReadEvidence } from './read-evidence.js'

const MAX_AGE = 3000

describe('ReadEvidence (docs/contract.md §2.3: idleness needs evidence from the broker)', () => {
  it('is caught up only after a log-end answer sent after the last delivery shows nothing unread', () => {
    const e = new ReadEvidence(0)
    expect(e.status(0, MAX_AGE)).toMatchObject({ caughtUp: false, reason: 'not fetched yet since it was assigned' })
    e.delivered(41, 100) // records up to 41 handed out: position 42
    e.probed(42, 50) // an answer to a request sent before that delivery: not evidence
    expect(e.caughtUp(200, MAX_AGE)).toBe(false)
    expect(e.status(200, MAX_AGE).reason).toBe('records arrived after the last log-end check')
    e.probed(45, 150)
    expect(e.status(200, MAX_AGE)).toMatchObject({
      caughtUp: false,
      reason: expect.stringContaining('3 record(s) unread'),
    })
    e.delivered(44, 300)
    e.probed(45, 400)
    expect(e.status(500, MAX_AGE)).toMatchObject({ caughtUp: true, position: 45, logEnd: 45, logEndCheckedAt: 400 })
  })

  it('stops being caught up when the answers stop: the broker is unreachable or the job was stopped', () => {
    const e = new ReadEvidence(0)
    e.delivered(9, 0)
    e.probed(10, 100)
    expect(e.caughtUp(100 + MAX_AGE, MAX_AGE)).toBe(true)
    expect(e.caughtUp(101 + MAX_AGE, MAX_AGE)).toBe(false)
    e.probeFailed('Local: Broker transport failure')
    expect(e.status(200 + MAX_AGE, MAX_AGE).reason).toBe(
      'cannot ask the broker for its log end: Local: Broker transport failure',
    )
  })

  it('is never caught up while paused, nor after a resume until a newer answer', () => {
    const e = new ReadEvidence(0)
    e.delivered(9, 0)
    e.probed(10, 10)
    e.pause()
    expect(e.status(20, MAX_AGE)).toMatchObject({ caughtUp: false, paused: true })
    expect(e.wantsProbe(5000, 1000, MAX_AGE)).toBe(false)
    e.resume(30)
    expect(e.caughtUp(40, MAX_AGE)).toBe(false)
    e.probed(10, 40)
    expect(e.caughtUp(50, MAX_AGE)).toBe(true)
  })

  it('takes the end-of-partition offset as its position (an empty partition, a transaction marker at the end)', () => {
    const e = new ReadEvidence(0)
    e.reachedEnd(0) // empty from the start
    e.probed(0, 10)
    expect(e.caughtUp(20, MAX_AGE)).toBe(true)
    const t = new ReadEvidence(0)
    t.delivered(6, 0) // the last data record is 6, a commit marker sits at 7
    t.probed(8, 10)
    expect(t.caughtUp(20, MAX_AGE)).toBe(false)
    t.reachedEnd(8)
    expect(t.caughtUp(20, MAX_AGE)).toBe(true)
  })

  it('ignores an older answer that arrives after a newer one', () => {
    const e = new ReadEvidence(0)
    e.delivered(9, 0)
    e.probed(10, 200)
    e.probed(12, 100)
    expect(e.status(300, MAX_AGE)).toMatchObject({ caughtUp: true, logEnd: 10, logEndCheckedAt: 200 })
  })

  // Against a model written from the rule alone: caught up at t iff not paused, and the newest answer (by send
  // time) was sent no earlier than the last delivery or resumption and no more than MAX_AGE before t, and shows a
  // log end at or below the position.
  it('agrees with the rule on random histories', () => {
    type Op =
      | { kind: 'deliver'; records: number }
      | { kind: 'produce'; records: number }
      | { kind: 'probe'; lag: number }
      | { kind: 'fail' }
      | { kind: 'pause' }
      | { kind: 'resume' }
      | { kind: 'wait'; ms: number }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('deliver' as const), records: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('produce' as const), records: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('probe' as const), lag: fc.integer({ min: 0, max: 2000 }) }),
      fc.constant({ kind: 'fail' as const }),
      fc.constant({ kind: 'pause' as const }),
      fc.constant({ kind: 'resume' as const }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 4000 }) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        let now = 1000
        let logEnd = 0 // the broker's
        let position = 0 // handed out
        let since = now
        let paused = false
        let answer: { logEnd: number; sentAt: number } | null = null
        const e = new ReadEvidence(now)
        e.reachedEnd(0)
        for (const o of ops) {
          if (o.kind === 'produce') logEnd += o.records
          else if (o.kind === 'deliver' && !paused) {
            const n = Math.min(o.records, logEnd - position)
            if (n > 0) {
              position += n
              e.delivered(position - 1, now)
              since = now
            }
          } else if (o.kind === 'probe') {
            // sent `lag` ms ago, answered now with the log end as it stood when sent (nothing produced since)
            const sentAt = now - o.lag
            e.probed(logEnd, sentAt)
            if (answer === null || sentAt >= answer.sentAt) answer = { logEnd, sentAt }
          } else if (o.kind === 'fail') e.probeFailed('down')
          else if (o.kind === 'pause') {
            e.pause()
            paused = true
          } else if (o.kind === 'resume') {
            e.resume(now)
            paused = false
            since = now
          } else if (o.kind === 'wait') now += o.ms
          const want =
            !paused &&
            answer !== null &&
            answer.sentAt >= since &&
            now - answer.sentAt <= MAX_AGE &&
            answer.logEnd <= position
          expect(e.caughtUp(now, MAX_AGE)).toBe(want)
          expect(e.status(now, MAX_AGE).caughtUp).toBe(want)
        }
      }),
      { numRuns: 2000 },
    )
  })
})
