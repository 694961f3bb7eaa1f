import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ShadowlogError } from '../../domain/errors.js';
import type { ProgressUpdate } from '../../processes/engine-context.js';
import type { VirtualUnit } from '../../processes/virtual-unit.js';
import { summarise } from '../../projections/set-summary.js';
import { exitCodeFor } from '../cli/exit-codes.js';

const dismountBody = z.object({ member: z.string().min(1), policy: z.enum(['minicopy', 'none']) });
const mountBody = z.object({
  member: z.string().min(1),
  policy: z.enum(['minicopy', 'minicopy-optional', 'full']),
});
const memberBody = z.object({ member: z.string().min(1) });
/** Request bodies are small JSON documents. */
const MAX_BODY_BYTES = 64 * 1024;

/** A running control API. */
export interface ControlServer {
  /** `host:port` actually bound. */
  readonly address: string;
  /** Stop accepting and close. */
  close(): Promise<void>;
}

/**
 * The control API of `shadowlog serve`: the CLI's dismount, mount, show and verify go through
 * it while a server runs. Loopback only, every request must carry the set's token
 * (`Authorization: Bearer ...`), bodies are validated with zod. Errors come back as
 * `{error: {code, message}}` with the HTTP status derived from the error code.
 */
export async function startControlServer(options: {
  unit: VirtualUnit;
  host: string;
  port: number;
  token: string;
}): Promise<ControlServer> {
  const { unit, token } = options;
  const progress = new Map<string, ProgressUpdate>();
  const subscription = unit.progress$.subscribe((update) => {
    progress.set(`${update.kind}:${update.member}`, update);
  });
  const expected = Buffer.from(`Bearer ${token}`);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
      return send(res, 401, { error: { code: 'UNAUTHORIZED', message: 'missing or wrong control token' } });
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /api/state':
        return send(res, 200, {
          summary: summarise(unit.state),
          journal: unit.state.journal,
          progress: [...progress.values()],
          diagnostics: unit.diagnostics(),
        });
      case 'POST /api/dismount': {
        const body = dismountBody.parse(await readBody(req));
        const event = await unit.dismount(body.member, body.policy);
        return send(res, 200, { event });
      }
      case 'POST /api/mount': {
        const body = mountBody.parse(await readBody(req));
        const handle = await unit.mount(body.member, body.policy);
        handle.done.catch(() => undefined);
        const started = await handle.started;
        return send(res, 200, { member: handle.member, started });
      }
      case 'POST /api/delete-bitmap': {
        const body = memberBody.parse(await readBody(req));
        return send(res, 200, { event: await unit.deleteBitmap(body.member) });
      }
      case 'POST /api/abort-copy': {
        const body = memberBody.parse(await readBody(req));
        return send(res, 200, { result: await unit.abortCopy(body.member) });
      }
      case 'POST /api/host-left': {
        const body = z.object({ host: z.string().min(1) }).parse(await readBody(req));
        return send(res, 200, { events: await unit.hostLeft(body.host) });
      }
      case 'POST /api/verify':
        return send(res, 200, await unit.verify());
      default:
        return send(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${route}` } });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof ShadowlogError) {
        const status = exitCodeFor(error.code) === 3 ? 404 : error.code === 'INVARIANT_VIOLATED' ? 500 : 409;
        send(res, status, { error: { code: error.code, message: error.message } });
      } else if (error instanceof z.ZodError) {
        send(res, 400, {
          error: { code: 'INVALID_ARGUMENT', message: error.issues.map((i) => i.message).join('; ') },
        });
      } else {
        send(res, 500, { error: { code: 'INTERNAL', message: (error as Error).message } });
      }
    });
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
