import { isAbort } from './api.js';

/**
 * Latest wins: each `run` aborts the request before it, and an answer that arrives after a newer
 * request started is dropped (resolves undefined), so a fast slider never shows a stale position.
 */
export class Latest {
  private controller: AbortController | null = null;
  private generation = 0;

  /** Run `request`; undefined when a newer run superseded it. */
  async run<T>(request: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const mine = ++this.generation;
    try {
      const answer = await request(controller.signal);
      return mine === this.generation ? answer : undefined;
    } catch (error) {
      if (isAbort(error) || mine !== this.generation) return undefined;
      throw error;
    }
  }
}

/** `fn` once calls stop for `ms` (the last call's arguments win). */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): (...args: A) => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (...args: A) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
