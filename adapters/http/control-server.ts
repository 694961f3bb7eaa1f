import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ShadowlogError } from '../../domain/errors.js';
import type { ProgressUpdate } from '../../processes/engine/progress-update.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { summarise } from '../../projections/set-summary.js';
import {
  type AbortAnswer,
  type ControlState,
  checkpointBody,
  dismountBody,
  type EventAnswer,
  type HostLeftAnswer,
  hostBody,
  MAX_BODY_BYTES,
  type MountAnswer,
  memberBody,
  mountBody,
  type VerifyAnswer,
} from './control-api.js';
import { HTTP_STATUS, STATUS_BY_ERROR_CODE } from './error-status.js';

/** A running control API. */
export interface ControlServer {
  /** `host:port` actually bound. */
  readonly address: string;
  /** Stop accepting and close. */
  close(): Promise<void>;
}

/** Options of {@link startControlServer}. */
export interface ControlServerOptions {
  /** The engine the API drives. */
  readonly unit: VirtualUnit;
  /** Address to bind (the caller keeps it loopback). */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** The bearer token every request must carry. */
  readonly token: string;
}

/** What a route handler sees. */
interface RouteContext {
  readonly unit: VirtualUnit;
  readonly progress: ReadonlyMap<string, ProgressUpdate>;
  readonly req: IncomingMessage;
}

type Route = (ctx: RouteContext) => Promise<unknown>;

/** `METHOD /path` → handler; each answers 200 with its document or throws. */
const ROUTES: Readonly<Record<string, Route>> = {
  'GET /api/state': async ({ unit, progress }): Promise<ControlState> => ({
    summary: summarise(unit.state),
    journal: unit.state.journal,
    progress: [...progress.values()],
    diagnostics: unit.diagnostics(),
  }),
  'POST /api/dismount': async ({ unit, req }): Promise<EventAnswer> => {
    const body = dismountBody.parse(await readBody(req));
    return { event: await unit.dismount(body.member, body.policy) };
  },
  'POST /api/mount': async ({ unit, req }): Promise<MountAnswer> => {
    const body = mountBody.parse(await readBody(req));
    const handle = await unit.mount(body.member, body.policy);
    // The copy runs on in the server; its end is in the journal, not this answer.
    handle.done.catch(() => undefined);
    const started = await handle.started;
    return { member: handle.member, started };
  },
  'POST /api/delete-bitmap': async ({ unit, req }): Promise<EventAnswer> => {
    const body = memberBody.parse(await readBody(req));
    return { event: await unit.deleteBitmap(body.member) };
  },
  'POST /api/checkpoint': async ({ unit, req }): Promise<EventAnswer> => {
    const body = checkpointBody.parse(await readBody(req));
    return { event: await unit.createCheckpoint(body.name) };
  },
  'POST /api/delete-checkpoint': async ({ unit, req }): Promise<EventAnswer> => {
    const body = checkpointBody.parse(await readBody(req));
    return { event: await unit.deleteCheckpoint(body.name) };
  },
  'POST /api/abort-copy': async ({ unit, req }): Promise<AbortAnswer> => {
    const body = memberBody.parse(await readBody(req));
    return { result: await unit.abortCopy(body.member) };
  },
  'POST /api/host-left': async ({ unit, req }): Promise<HostLeftAnswer> => {
    const body = hostBody.parse(await readBody(req));
    return { events: await unit.hostLeft(body.host) };
  },
  'POST /api/verify': ({ unit }): Promise<VerifyAnswer> => unit.verify(),
};

/**
 * The control API of `shadowlog serve`: the CLI's dismount, mount, show and verify go through
 * it while a server runs. Loopback only, every request must carry the set's token
 * (`Authorization: Bearer ...`), bodies are validated with zod. Errors come back as
 * `{error: {code, message}}` with the HTTP status of the error code (error-status.ts).
 */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const { unit } = options;
  const progress = new Map<string, ProgressUpdate>();
  const subscription = unit.progress$.subscribe((update) => {
    progress.set(`${update.kind}:${update.member}`, update);
  });
  const expected = Buffer.from(`Bearer ${options.token}`);
  const server: Server = createServer((req, res) => {
    handle({ unit, progress, req }, res, expected).catch((error: unknown) => sendError(res, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    address: `${address.address}:${address.port}`,
    close: async () => {
      subscription.unsubscribe();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

async function handle(ctx: RouteContext, res: ServerResponse, expected: Buffer): Promise<void> {
  const auth = Buffer.from(ctx.req.headers.authorization ?? '');
  if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
    return send(res, HTTP_STATUS.unauthorized, {
      error: { code: 'UNAUTHORIZED', message: 'missing or wrong control token' },
    });
  }
  const url = new URL(ctx.req.url ?? '/', 'http://localhost');
  const route = `${ctx.req.method} ${url.pathname}`;
  const handler = Object.hasOwn(ROUTES, route) ? ROUTES[route] : undefined;
  if (!handler) {
    return send(res, HTTP_STATUS.notFound, { error: { code: 'NOT_FOUND', message: `no route ${route}` } });
  }
  send(res, HTTP_STATUS.ok, await handler(ctx));
}

function sendError(res: ServerResponse, error: unknown): void {
  if (error instanceof ShadowlogError) {
    send(res, STATUS_BY_ERROR_CODE[error.code], { error: { code: error.code, message: error.message } });
  } else if (error instanceof z.ZodError) {
    send(res, HTTP_STATUS.badRequest, {
      error: { code: 'INVALID_ARGUMENT', message: error.issues.map((i) => i.message).join('; ') },
    });
  } else {
    send(res, HTTP_STATUS.internal, { error: { code: 'INTERNAL', message: (error as Error).message } });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ShadowlogError('INVALID_ARGUMENT', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new ShadowlogError('INVALID_ARGUMENT', 'request body is not JSON');
  }
}
