import type { Clock } from '../runtime/types.js'

/**
 * A wall clock that only moves when told to.
 *
 * @example
 * const clock = new ManualClock(Date.parse('2025-01-01T12:00:00Z')); clock.advance(1000)
 */
export class ManualClock implements Clock {
  constructor(private time: number) {}
  now(): number {
    return this.time
  }
  /** Moves forward by `ms` (never backwards). */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('the wall clock never goes backwards')
    this.time += ms
  }
  /** Jumps to `time` (not before now). */
  set(time: number): void {
    this.advance(time - this.time)
  }
}
