/**
 * Resolves at the first SIGTERM or SIGINT: the long-running commands (`serve`, `dashboard`) then
 * stop their servers and exit 0. The handlers are removed once it fired, so a second signal
 * gets Node's default (an operator's second Ctrl-C ends a stop that hangs).
 */
export function waitForStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
