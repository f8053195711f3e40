/**
 * Preloaded into every service the supervisor runs (`node [--import tsx] --import <this file> <entry>`, see
 * supervisor.ts; plain JavaScript, so a bundled service such as the job needs no TypeScript loader): stops the service cleanly once the supervisor is gone, however it went (a crash, SIGKILL,
 * an OOM kill), so `npm start` never leaves a job, API or producer running behind it.
 *
 * The supervisor holds the other end of a pipe on file descriptor `CTR_SUPERVISOR_FD`; the kernel closes that
 * end when the supervisor's process ends, for any reason, including the SIGKILL no signal handler sees. On that
 * end of file the service gets SIGTERM, so it runs its own clean stop (the job commits its offsets), and SIGKILL
 * after `CTR_STOP_GRACE_MS` if it still runs. Before the supervisor itself sends SIGTERM it writes `stop` on the
 * pipe: a supervisor that dies in the middle of stopping a service then does not cause a second SIGTERM, which
 * the services take as "exit at once, without the clean stop".
 *
 * Without `CTR_SUPERVISOR_FD` (a service started by hand) this does nothing.
 */
import { Socket } from 'node:net'

const fd = Number(process.env.CTR_SUPERVISOR_FD)
const graceMs = Number(process.env.CTR_STOP_GRACE_MS ?? 15_000)
// Not for the service's own children, which have no such pipe.
delete process.env.CTR_SUPERVISOR_FD
delete process.env.CTR_STOP_GRACE_MS

if (Number.isInteger(fd) && fd > 2) {
  const supervisor = process.ppid
  let stopRequested = false
  let gone = false
  const pipe = new Socket({ fd, readable: true, writable: false })
  pipe.on('data', () => {
    stopRequested = true // the supervisor writes only `stop`
  })
  const onGone = () => {
    if (gone) return
    gone = true
    process.stderr.write(
      `[supervisor-watch] the supervisor (pid ${supervisor}) is gone: ` +
        `${stopRequested ? 'already stopping' : 'stopping (SIGTERM)'}, SIGKILL in ${graceMs / 1000} s if still running\n`,
    )
    if (!stopRequested) process.kill(process.pid, 'SIGTERM')
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), graceMs).unref()
  }
  pipe.once('end', onGone)
  pipe.once('close', onGone)
  pipe.once('error', onGone)
  // The watch alone must not keep the service alive once it has finished.
  pipe.unref()
}
