/**
 * Dead-letter routing of one engine: where a bad record, a late event or a failed result goes. Late events go
 * to the topology's `lateEvents()` if it has one, else to its `deadLetters()`; other dead letters go to its
 * `deadLetters()`; what the topology does not route waits here for the engine's dead-letter sink (the runner's
 * DLQ), or, without one, is only counted.
 */
import type { DeadLetter, RawRecord } from '../connectors/types.js'
import type { EngineCounters } from './context.js'

/** The topology's own dead-letter and late-event streams (the plan's), when it has them. */
export type DeadLetterRoutes = {
  readonly deadLetters: ((d: DeadLetter) => void) | undefined
  readonly lateEvents: ((d: DeadLetter) => void) | undefined
}

/** Routes the dead letters of one engine. */
export class DeadLetterRouter {
  /** Dead letters for the engine's sink, waiting for the end of the operation. */
  private pending: DeadLetter[] = []
  /** None until {@link useRoutes} (the plan is compiled after the router it reports to). */
  private routes: DeadLetterRoutes = { deadLetters: undefined, lateEvents: undefined }

  constructor(
    private readonly counters: EngineCounters,
    /** Whether the engine has a dead-letter sink (else unrouted dead letters are only counted). */
    private readonly hasSink: boolean,
  ) {}

  /** Sets the topology's own streams (the compiled plan's). */
  useRoutes(routes: DeadLetterRoutes): void {
    this.routes = { deadLetters: routes.deadLetters, lateEvents: routes.lateEvents }
  }

  /** Counts a dead letter and sends it where it goes. */
  send(reason: string, message: string, record: RawRecord): void {
    this.counters.deadLetters++
    const d: DeadLetter = { reason, message, record }
    const r = this.routes
    const route = reason === 'late_event' ? (r.lateEvents ?? r.deadLetters) : r.deadLetters
    if (route) route(d)
    else if (this.hasSink) this.pending.push(d)
  }

  /** The dead letters waiting for the engine's sink, taken (undefined when none). */
  take(): DeadLetter[] | undefined {
    if (this.pending.length === 0) return undefined
    const out = this.pending
    this.pending = []
    return out
  }
}
