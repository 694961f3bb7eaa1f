import { Hono } from 'hono';
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
import { readJsonBody } from './http-errors.js';

/**
 * The control routes (control-api.ts): each answers 200 with its document or throws; the app
 * that mounts them maps what is thrown to a status (http-errors.ts). Bodies are bounded and
 * validated with zod.
 */
export function controlRoutes(unit: VirtualUnit, progress: ReadonlyMap<string, ProgressUpdate>): Hono {
  const app = new Hono();
  const body = (request: Request) => readJsonBody(request, MAX_BODY_BYTES);
  app.get('/api/state', (c) =>
    c.json<ControlState>({
      summary: summarise(unit.state),
      journal: unit.state.journal,
      progress: [...progress.values()],
      diagnostics: unit.diagnostics(),
    }),
  );
  app.post('/api/dismount', async (c) => {
    const parsed = dismountBody.parse(await body(c.req.raw));
    return c.json<EventAnswer>({ event: await unit.dismount(parsed.member, parsed.policy) });
  });
  app.post('/api/mount', async (c) => {
    const parsed = mountBody.parse(await body(c.req.raw));
    const handle = await unit.mount(parsed.member, parsed.policy);
    // The copy runs on in the server; its end is in the journal, not this answer.
    handle.done.catch(() => undefined);
    const started = await handle.started;
    return c.json<MountAnswer>({ member: handle.member, started });
  });
  app.post('/api/delete-bitmap', async (c) => {
    const parsed = memberBody.parse(await body(c.req.raw));
    return c.json<EventAnswer>({ event: await unit.deleteBitmap(parsed.member) });
  });
  app.post('/api/checkpoint', async (c) => {
    const parsed = checkpointBody.parse(await body(c.req.raw));
    return c.json<EventAnswer>({ event: await unit.createCheckpoint(parsed.name) });
  });
  app.post('/api/delete-checkpoint', async (c) => {
    const parsed = checkpointBody.parse(await body(c.req.raw));
    return c.json<EventAnswer>({ event: await unit.deleteCheckpoint(parsed.name) });
  });
  app.post('/api/abort-copy', async (c) => {
    const parsed = memberBody.parse(await body(c.req.raw));
    return c.json<AbortAnswer>({ result: await unit.abortCopy(parsed.member) });
  });
  app.post('/api/host-left', async (c) => {
    const parsed = hostBody.parse(await body(c.req.raw));
    return c.json<HostLeftAnswer>({ events: await unit.hostLeft(parsed.host) });
  });
  app.post('/api/verify', async (c) => c.json<VerifyAnswer>(await unit.verify()));
  return app;
}
