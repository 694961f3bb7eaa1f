import { describe, expect, it } from 'vitest';
import type { ProgressUpdate } from '../../processes/engine/progress-update.js';
import { VerifyProgress } from '../../processes/verify/verify-progress.js';

describe('VerifyProgress: a verify on the progress stream, rate-bounded', () => {
  it('the first report goes out, reports within the interval do not, the final one always does', () => {
    const sent: ProgressUpdate[] = [];
    const progress = new VerifyProgress({ next: (u) => sent.push(u) }, 10, 1000, 9_500);
    progress.report(0);
    // A tight loop runs well inside 100 ms: none of these is sent.
    for (let done = 1; done < 10; done++) progress.report(done);
    progress.finish(10);
    expect(sent).toEqual([
      {
        kind: 'verify',
        member: '*',
        chunksDone: 0,
        chunksPlanned: 10,
        bytesDone: 0,
        bytesPlanned: 9_500,
        finished: false,
      },
      // The last chunk is short: bytes never pass the volume's size.
      {
        kind: 'verify',
        member: '*',
        chunksDone: 10,
        chunksPlanned: 10,
        bytesDone: 9_500,
        bytesPlanned: 9_500,
        finished: true,
      },
    ]);
  });
});
