/**
 * The stateful operators a plan can build, by the window spec they implement: the one place that maps a window
 * node to its operator class (a new kind of window adds its class here, not in the planner or the engine).
 */
import type { AggregateNode, WindowNode } from '../../graph/nodes.js'
import type { WindowKey } from '../../state/window-store.js'
import type { OperatorDeps } from '../context.js'
import type { KeyedWindowBase } from './keyed-window-base.js'
import { SessionOperator } from './session-operator.js'
import { SlidingOperator } from './sliding-operator.js'
import type { StatefulOperator } from './stateful-operator.js'
import { WindowOperator } from './window-operator.js'

export type { OperatorStatus, RestoredEntry, StatefulOperator, TaskBucket } from './stateful-operator.js'

/** A keyed window operator: stateful, with the downstream its results go to (set by the planner). */
export type KeyedWindowOperator = StatefulOperator & Pick<KeyedWindowBase, 'downstream'>

/**
 * Builds the operator of a window node (tumbling and hopping: {@link WindowOperator}; session:
 * {@link SessionOperator}; sliding: {@link SlidingOperator}).
 */
export function windowOperator(
  name: string,
  window: WindowNode,
  aggregate: AggregateNode,
  keyOf: (value: unknown) => WindowKey,
  deps: OperatorDeps,
): KeyedWindowOperator {
  switch (window.spec.kind) {
    case 'session':
      return new SessionOperator(name, window, aggregate, keyOf, deps)
    case 'sliding':
      return new SlidingOperator(name, window, aggregate, keyOf, deps)
    default:
      return new WindowOperator(name, window, aggregate, keyOf, deps)
  }
}
