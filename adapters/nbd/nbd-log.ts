/** Severity of a log line from the NBD server. */
export type NbdLogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Where the NBD server reports. A plain function so any logger (console, pino, the CLI's) adapts
 * in one line. Protocol violations by clients are `debug`: a fuzzing or broken client must not be
 * able to flood the operator's log.
 */
export type NbdLog = (level: NbdLogLevel, message: string) => void;

/** Wrap a log so that a throwing logger cannot break a connection. */
export function safeLog(log: NbdLog | undefined): NbdLog {
  if (!log) return () => {};
  return (level, message) => {
    try {
      log(level, message);
    } catch {
      // A logger failure is not the client's problem; dropping the line is the only safe choice.
    }
  };
}
