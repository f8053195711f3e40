import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function holderAlive(file: string): boolean {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim())
    if (!Number.isInteger(pid) || pid <= 0) return false
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Runs `fn` holding an exclusive file lock (several vitest projects and
 * terminals may start the cluster at the same time). A lock left by a dead
 * process is taken over.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  mkdirSync(dirname(file), { recursive: true })
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      if (!holderAlive(file)) {
        rmSync(file, { force: true })
        continue
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${file}`)
      await sleep(250)
    }
  }
  try {
    return await fn()
  } finally {
    if (existsSync(file) && readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true })
  }
}
