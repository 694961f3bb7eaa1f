/**
 * Where `events` writes its lines: stdout, one line per event, waiting for the pipe to drain
 * so a 10M-event log streams through `less` or `head` with bounded memory.
 */
export class EventSink {
  /** True once stdout is closed by the reader (`| head`): stop reading the log. */
  closed = false;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {
    out.on('error', (error: NodeJS.ErrnoException) => {
      // The reader went away: nothing more to print, and not an error of the command.
      if (error.code === 'EPIPE') this.closed = true;
      else throw error;
    });
  }

  /** Write one line; resolves once the stream can take more. */
  async line(text: string): Promise<void> {
    if (this.closed) return;
    if (this.out.write(`${text}\n`)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('error', done);
        resolve();
      };
      this.out.once('drain', done);
      this.out.once('error', done);
    });
  }
}
