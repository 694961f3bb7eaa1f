/**
 * What the URL fragment holds: the token (a fragment never reaches a server, so the token stays
 * out of logs and Referer headers) and the cursors, so a copied URL reopens the same view.
 * `#token=T&at=P&a=A&b=B`; a missing cursor is null (`at` null: follow the end of the log).
 */
export interface UrlState {
  /** The read API token. */
  readonly token: string | null;
  /** The slider position, null to follow the end of the log. */
  readonly at: number | null;
  /** Diff cursor A. */
  readonly a: number | null;
  /** Diff cursor B. */
  readonly b: number | null;
}

function position(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value)) return null;
  return Number(value);
}

/** Parse `location.hash`. */
export function readUrlState(hash: string): UrlState {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  return {
    token: params.get('token'),
    at: position(params.get('at')),
    a: position(params.get('a')),
    b: position(params.get('b')),
  };
}

/** The fragment for `state` (token first, then the cursors that are set). */
export function fragmentOf(state: UrlState): string {
  const params = new URLSearchParams();
  if (state.token !== null) params.set('token', state.token);
  if (state.at !== null) params.set('at', String(state.at));
  if (state.a !== null) params.set('a', String(state.a));
  if (state.b !== null) params.set('b', String(state.b));
  return `#${params.toString()}`;
}
