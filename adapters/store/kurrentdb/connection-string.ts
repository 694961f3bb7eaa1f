import { InvalidArgumentError } from '../../../domain/errors.js';

/**
 * KurrentDB connection strings, as given to `--store` or `SHADOWLOG_STORE`:
 *
 *     kurrentdb://[user:password@]host[:port][,host[:port]...][/][?key=value&...]
 *
 * The official client parses these too, but it only *warns* about an unknown option and then
 * ignores it: a typo such as `tsl=false` would silently connect with TLS and fail later with a
 * confusing "unreachable". shadowlog parses first and refuses anything the client would not
 * honour, naming the offending part. The `esdb` schemes of EventStoreDB are accepted and
 * rewritten to `kurrentdb`, so that the client does not print its deprecation warning on
 * every start.
 */

/** Port of a KurrentDB node when the string gives none (HTTP and gRPC share it). */
export const DEFAULT_KURRENTDB_PORT = 2113;

/** Environment variable read when `--store` is not given. */
export const STORE_ENV_VARIABLE = 'SHADOWLOG_STORE';

/** One node address. */
export interface KurrentDbHost {
  /** Host name or IPv4 address. */
  readonly host: string;
  /** TCP port, 1..65535. */
  readonly port: number;
}

/** A parsed, checked connection string. */
export interface KurrentDbConnection {
  /** What to hand to `KurrentDBClient.connectionString` (scheme normalised to `kurrentdb`). */
  readonly clientConnectionString: string;
  /** The input with its password masked: safe for messages and logs. */
  readonly display: string;
  /** True for the `+discover` schemes: the host is a DNS name to discover cluster nodes from. */
  readonly discover: boolean;
  /** The node addresses (for `+discover`, the one DNS name). */
  readonly hosts: readonly KurrentDbHost[];
  /** False with `tls=false`; the client defaults to TLS. */
  readonly tls: boolean;
  /** User name of the default credentials, when the string carries them. */
  readonly username: string | undefined;
  /** The query options, under the client's spelling of their keys. */
  readonly options: Readonly<Record<string, string>>;
}

/** Schemes the client accepts, and whether they discover cluster nodes. */
const SCHEMES: Readonly<Record<string, { readonly normalised: string; readonly discover: boolean }>> = {
  kurrentdb: { normalised: 'kurrentdb', discover: false },
  'kurrentdb+discover': { normalised: 'kurrentdb+discover', discover: true },
  kurrent: { normalised: 'kurrentdb', discover: false },
  'kurrent+discover': { normalised: 'kurrentdb+discover', discover: true },
  kdb: { normalised: 'kurrentdb', discover: false },
  'kdb+discover': { normalised: 'kurrentdb+discover', discover: true },
  esdb: { normalised: 'kurrentdb', discover: false },
  'esdb+discover': { normalised: 'kurrentdb+discover', discover: true },
};

type OptionKind = 'boolean' | 'integer' | 'nodePreference' | 'text';

/** The options the client understands, by its spelling. */
const OPTION_KINDS: Readonly<Record<string, OptionKind>> = {
  tls: 'boolean',
  tlsVerifyCert: 'boolean',
  tlsCAFile: 'text',
  userCertFile: 'text',
  userKeyFile: 'text',
  connectionName: 'text',
  nodePreference: 'nodePreference',
  maxDiscoverAttempts: 'integer',
  discoveryInterval: 'integer',
  gossipTimeout: 'integer',
  defaultDeadline: 'integer',
  keepAliveInterval: 'integer',
  keepAliveTimeout: 'integer',
  throwOnAppendFailure: 'boolean',
};

const NODE_PREFERENCES = ['leader', 'follower', 'random', 'readonlyreplica'];

/** Like the client: keys match ignoring case, '-' and '_'. */
function flat(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

const OPTION_BY_FLAT_KEY = new Map(Object.keys(OPTION_KINDS).map((key) => [flat(key), key]));

const EXAMPLE = 'kurrentdb://localhost:2113?tls=false';

function invalid(input: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `store connection string '${mask(input)}' is invalid: ${problem} (example: ${EXAMPLE})`,
  );
}

/** Mask the password of `user:password@` in a connection string, if any. */
function mask(input: string): string {
  return input.replace(/^([^:/?#]+:\/\/[^:@/?#]*:)[^@/?#]*@/, '$1***@');
}

/** True if `value` starts with a scheme of the KurrentDB client (`kurrentdb://`, `esdb://`, ...). */
export function isKurrentDbConnectionString(value: string): boolean {
  const match = /^\s*([A-Za-z+]+):\/\//.exec(value);
  return match !== null && match[1]!.toLowerCase() in SCHEMES;
}

/**
 * The store setting in effect: `--store` when given, else `SHADOWLOG_STORE`, else undefined
 * (the embedded store). Blank values count as not given, so `SHADOWLOG_STORE=` in a script
 * does not select a store named "".
 */
export function storeSettingFrom(sources: {
  readonly store?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
}): string | undefined {
  for (const value of [sources.store, sources.env?.[STORE_ENV_VARIABLE]]) {
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/**
 * Parse and check a KurrentDB connection string. Throws InvalidArgumentError naming the part
 * that is wrong: the scheme, credentials, a host or port, or an option key or value.
 */
export function parseKurrentDbConnectionString(input: string): KurrentDbConnection {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new InvalidArgumentError(`store connection string is empty (example: ${EXAMPLE})`);
  }
  const text = input.trim();
  const schemeMatch = /^([^:/?#]+):\/\//.exec(text);
  const scheme = schemeMatch ? SCHEMES[schemeMatch[1]!.toLowerCase()] : undefined;
  if (!schemeMatch || scheme === undefined) {
    throw invalid(
      text,
      `it must start with kurrentdb://, kurrentdb+discover://, esdb:// or esdb+discover://` +
        (schemeMatch ? ` (got '${schemeMatch[1]}://')` : ''),
    );
  }
  let rest = text.slice(schemeMatch[0].length);

  // Query: everything after the first '?'.
  const queryAt = rest.indexOf('?');
  const query = queryAt >= 0 ? rest.slice(queryAt + 1) : undefined;
  if (queryAt >= 0) rest = rest.slice(0, queryAt);
  if (rest.includes('#')) throw invalid(text, `a fragment ('#...') is not allowed`);
  // One optional trailing '/', as in a URL; any other path is a mistake.
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest.includes('/')) throw invalid(text, `a path is not allowed after the hosts ('${rest}')`);

  // Credentials: 'user:password@'.
  let username: string | undefined;
  let credentials = '';
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = credentials.indexOf(':');
    if (colon <= 0 || colon === credentials.length - 1) {
      throw invalid(text, `credentials must be 'user:password@'`);
    }
    try {
      username = decodeURIComponent(credentials.slice(0, colon));
      decodeURIComponent(credentials.slice(colon + 1));
    } catch {
      throw invalid(text, `credentials contain a bad percent-escape`);
    }
  }

  const hosts = parseHosts(text, rest);
  if (scheme.discover && hosts.length !== 1) {
    throw invalid(text, `a +discover scheme takes exactly one DNS name to discover the cluster from`);
  }
  const options = parseOptions(text, query);
  const tls = options.tls !== 'false';

  const hostList = hosts.map((h) => `${h.host}:${h.port}`).join(',');
  const queryText = Object.entries(options)
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const clientConnectionString = `${scheme.normalised}://${credentials ? `${credentials}@` : ''}${hostList}${
    queryText ? `?${queryText}` : ''
  }`;
  return {
    clientConnectionString,
    display: mask(clientConnectionString),
    discover: scheme.discover,
    hosts,
    tls,
    username,
    options,
  };
}

function parseHosts(text: string, list: string): KurrentDbHost[] {
  if (list === '') throw invalid(text, 'it names no host');
  return list.split(',').map((entry) => {
    const item = entry.trim();
    if (item === '') throw invalid(text, 'an empty host in the host list');
    if (item.startsWith('[')) {
      throw invalid(text, `IPv6 addresses ('${item}') are not supported by the client; use a host name`);
    }
    const parts = item.split(':');
    if (parts.length > 2) throw invalid(text, `host '${item}' has more than one ':'`);
    const [host, portText] = parts as [string, string | undefined];
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host) || host.includes('..')) {
      throw invalid(text, `'${host}' is not a host name or IPv4 address`);
    }
    if (portText === undefined) return { host, port: DEFAULT_KURRENTDB_PORT };
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) {
      throw invalid(text, `port '${portText}' of host '${host}' is not a number from 1 to 65535`);
    }
    return { host, port };
  });
}

function parseOptions(text: string, query: string | undefined): Record<string, string> {
  const options: Record<string, string> = {};
  if (query === undefined || query === '') return options;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      throw invalid(text, `option '${pair}' must be key=value`);
    }
    const rawKey = pair.slice(0, eq);
    const value = pair.slice(eq + 1).trim();
    const key = OPTION_BY_FLAT_KEY.get(flat(rawKey));
    if (key === undefined) {
      throw invalid(
        text,
        `unknown option '${rawKey}'; known options: ${Object.keys(OPTION_KINDS).join(', ')}`,
      );
    }
    if (key in options) throw invalid(text, `option '${key}' is given twice`);
    options[key] = checkOptionValue(text, key, value);
  }
  return options;
}

function checkOptionValue(text: string, key: string, value: string): string {
  switch (OPTION_KINDS[key]) {
    case 'boolean':
      if (value !== 'true' && value !== 'false') {
        throw invalid(text, `option '${key}' must be true or false, got '${value}'`);
      }
      return value;
    case 'integer':
      if (!/^\d{1,9}$/.test(value)) {
        throw invalid(text, `option '${key}' must be a non-negative integer, got '${value}'`);
      }
      return value;
    case 'nodePreference':
      if (!NODE_PREFERENCES.includes(flat(value))) {
        throw invalid(
          text,
          `option 'nodePreference' must be leader, follower, random or read_only_replica, got '${value}'`,
        );
      }
      return value;
    default:
      try {
        decodeURIComponent(value);
      } catch {
        throw invalid(text, `option '${key}' has a bad percent-escape`);
      }
      return value;
  }
}
