import type { Windowed } from '../../core/window.js'
import type { WindowKey } from '../../state/window-store.js'
import type { EngineCounters, RecordContext } from '../context.js'

/**
 * Hands one window result downstream (a late firing when `lateFiring`), counting it, with the record context's
 * event time set to the window's last millisecond `end - 1` meanwhile.
 */
export function emitWindowed(
  ctx: RecordContext,
  counters: EngineCounters,
  downstream: (value: unknown) => void,
  key: WindowKey,
  start: number,
  end: number,
  value: unknown,
  lateFiring: boolean,
): void {
  const result: Windowed<WindowKey, unknown> = { key, window: { start, end }, value, lateFiring }
  counters.windowsEmitted++
  if (lateFiring) counters.lateFirings++
  const ts = ctx.ts
  ctx.ts = end - 1
  downstream(result)
  ctx.ts = ts
}
