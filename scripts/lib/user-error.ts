/**
 * An error whose message is meant for the person at the terminal: one line that
 * says what went wrong and what to do. Command-line entry points print only the
 * message (no stack trace) and exit 1.
 *
 * @example
 * throw new UserError('Java not found; install Java 17 or newer (apt-get install openjdk-17-jre-headless).')
 */
export class UserError extends Error {
  override readonly name = 'UserError'
}

/**
 * Runs a command-line main function: a {@link UserError} becomes one line on
 * stderr and exit code 1; anything else is a bug and keeps its stack trace.
 */
export async function runMain(main: () => Promise<unknown>): Promise<void> {
  try {
    const code = await main()
    process.exitCode = typeof code === 'number' ? code : 0
  } catch (err) {
    if (err instanceof UserError) {
      console.error(err.message)
      process.exitCode = 1
      return
    }
    throw err
  }
}
