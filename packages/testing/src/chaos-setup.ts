// Setup file of the chaos projects (vitest.config.ts): chaos cases are retried once, and vitest does not print
// the error of a first attempt that a retry makes good. This prints every failed attempt, so a flake stays in
// the output of a green run, with its test, attempt and error.
import { beforeEach } from 'vitest'

beforeEach(({ onTestFailed, task }) => {
  onTestFailed(({ task: failed }) => {
    const attempt = (failed.result?.retryCount ?? 0) + 1
    const errors = (failed.result?.errors ?? []).map((e) => e.message ?? String(e)).join('; ')
    console.error(`[chaos] attempt ${attempt} of "${task.fullName ?? task.name}" failed: ${errors}`)
  })
})
