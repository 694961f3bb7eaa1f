import { BASE_ALLOCATION_CONTEXT, MAX_STRING_BYTES } from './nbd-constants.js';
import type { OptionParseError } from './nbd-option-codec.js';

/** A context selected on a connection, with the id its BLOCK_STATUS chunks carry. */
export interface SelectedMetaContext {
  /** Id sent in NBD_REP_META_CONTEXT and in every NBD_REPLY_TYPE_BLOCK_STATUS chunk. */
  readonly id: number;
  /** Full context name, e.g. `qemu:dirty-bitmap:m2`. */
  readonly name: string;
}

/** A context name the spec accepts: non-empty namespace without whitespace, a colon, a leaf. */
function isValidContextName(name: string): boolean {
  const colon = name.indexOf(':');
  if (colon <= 0) return false;
  if (/\s/.test(name.slice(0, colon))) return false;
  return !name.includes('\0') && Buffer.byteLength(name) <= MAX_STRING_BYTES;
}

/**
 * Every context an export offers: `base:allocation` first (always served by the NBD layer), then
 * the backend's extra contexts, then the names among `requested` the backend answers on request
 * though it does not list them (`accepts`: a bitmap since any position). A name that breaks the
 * spec's syntax is dropped rather than sent to clients; the returned list has no duplicates.
 */
export function availableContexts(
  extra: readonly string[],
  requested: readonly string[] = [],
  accepts: (name: string) => boolean = () => false,
): string[] {
  const out = [BASE_ALLOCATION_CONTEXT];
  for (const name of extra) {
    if (isValidContextName(name) && !out.includes(name)) out.push(name);
  }
  // Bounded by the queries of one option (the option codec bounds their number).
  for (const name of requested) {
    if (isValidContextName(name) && !name.endsWith(':') && !out.includes(name) && accepts(name))
      out.push(name);
  }
  return out;
}

/**
 * Contexts a NBD_OPT_LIST_META_CONTEXT query matches. A query whose leaf ends in ':' (`base:`,
 * `qemu:`, `qemu:dirty-bitmap:`) is a wildcard over that prefix, as base: and QEMU document; any
 * other query matches the context of that exact name. Unknown namespaces match nothing (the spec
 * says they must be ignored). Undefined means the query lacks the namespace colon (invalid).
 */
export function matchListQuery(query: string, available: readonly string[]): string[] | undefined {
  if (query.indexOf(':') <= 0) return undefined;
  if (query.endsWith(':')) return available.filter((name) => name.startsWith(query));
  return available.includes(query) ? [query] : [];
}

/**
 * Contexts a NBD_OPT_SET_META_CONTEXT query selects: only exact names. Wildcards select nothing
 * (the spec: an empty leaf SHOULD NOT select contexts, and `base:` MUST be ignored).
 */
export function matchSetQuery(query: string, available: readonly string[]): string[] | undefined {
  if (query.indexOf(':') <= 0) return undefined;
  if (query.endsWith(':')) return [];
  return available.includes(query) ? [query] : [];
}

/**
 * Resolve the queries of a LIST or SET_META_CONTEXT with `match` (matchListQuery or
 * matchSetQuery): the names in query order without duplicates; a parse error when a query lacks its
 * namespace or more than `maxNames` names are selected. Bounded by the queries (the option codec
 * bounds their number).
 */
export function resolveQueries(
  queries: readonly string[],
  available: readonly string[],
  match: (query: string, available: readonly string[]) => string[] | undefined,
  maxNames: number,
): string[] | OptionParseError {
  const names: string[] = [];
  for (const query of queries) {
    const matches = match(query, available);
    if (!matches) return { error: 'invalid', message: `query '${query}' has no namespace` };
    for (const name of matches) if (!names.includes(name)) names.push(name);
    if (names.length > maxNames) return { error: 'too-big', message: `more than ${maxNames} contexts` };
  }
  return names;
}

/**
 * Context ids of one connection. The same name always gets the same id for the life of the
 * connection, even across repeated NBD_OPT_SET_META_CONTEXT, so a client that caches an id within
 * the connection is never confused. Bounded by the distinct names an export offers.
 */
export class MetaContextIds {
  private readonly ids = new Map<string, number>();

  /** Id of `name`, allocating the next one (from 1) the first time. */
  idFor(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(name, id);
    }
    return id;
  }
}
