import { describe, expect, it } from 'vitest';
import { ControlClient } from '../../../adapters/http/control-client.js';
import { type ControlServer, startControlServer } from '../../../adapters/http/control-server.js';
import { errorFromCode } from '../../../adapters/http/error-from-code.js';
import { STATUS_BY_ERROR_CODE } from '../../../adapters/http/error-status.js';
import {
  CommandRejectedError,
  IoError,
  NotFoundError,
  ShadowlogError,
  type ShadowlogErrorCode,
} from '../../../domain/errors.js';
import type { VirtualUnit } from '../../../processes/virtual-unit.js';

const TOKEN = 'secret';

/** Just enough of an engine for the routes used here. */
function fakeUnit(dismount: () => Promise<never>): VirtualUnit {
  return {
    progress$: { subscribe: () => ({ unsubscribe: () => undefined }) },
    dismount,
  } as unknown as VirtualUnit;
}

async function withServer(unit: VirtualUnit, fn: (server: ControlServer) => Promise<void>): Promise<void> {
  const server = await startControlServer({ unit, host: '127.0.0.1', port: 0, token: TOKEN });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

function endpoint(server: ControlServer) {
  return { pid: process.pid, http: server.address };
}

describe('the control API maps error codes to statuses and back', () => {
  it('has a status for every code: 404 for NOT_FOUND, 500 for a bug, 409 for the rest', () => {
    expect(STATUS_BY_ERROR_CODE.NOT_FOUND).toBe(404);
    expect(STATUS_BY_ERROR_CODE.INVARIANT_VIOLATED).toBe(500);
    expect(STATUS_BY_ERROR_CODE.COMMAND_REJECTED).toBe(409);
    expect(STATUS_BY_ERROR_CODE.INVALID_ARGUMENT).toBe(409);
  });

  it('rebuilds the typed error from a code, keeping the message', () => {
    expect(errorFromCode('NOT_FOUND', 'no m9')).toBeInstanceOf(NotFoundError);
    expect(errorFromCode('COMMAND_REJECTED', 'last member')).toBeInstanceOf(CommandRejectedError);
    const bug = errorFromCode('INVARIANT_VIOLATED', 'x');
    expect([bug.code, bug.message]).toEqual(['INVARIANT_VIOLATED', 'x']);
    expect(errorFromCode('UNAUTHORIZED', 'token')).toBeInstanceOf(IoError);
    expect(errorFromCode('INTERNAL', 'boom').code).toBe('IO_ERROR');
  });

  it.each<[ShadowlogErrorCode, number]>([
    ['NOT_FOUND', 404],
    ['COMMAND_REJECTED', 409],
    ['INVARIANT_VIOLATED', 500],
  ])(
    'a %s raised by the engine comes back over HTTP as %d and to the client as the same code',
    async (code, status) => {
      const unit = fakeUnit(() => Promise.reject(new ShadowlogError(code, `refused: ${code}`)));
      await withServer(unit, async (server) => {
        const response = await fetch(`http://${server.address}/api/dismount`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify({ member: 'm2', policy: 'minicopy' }),
        });
        expect(response.status).toBe(status);
        expect(await response.json()).toEqual({ error: { code, message: `refused: ${code}` } });
        const client = new ControlClient(endpoint(server), TOKEN);
        await expect(client.dismount('m2', 'minicopy')).rejects.toMatchObject({
          code,
          message: `refused: ${code}`,
        });
      });
    },
  );

  it('a bad body is 400 INVALID_ARGUMENT, a wrong token 401, an unknown route 404', async () => {
    const unit = fakeUnit(() => Promise.reject(new Error('not called')));
    await withServer(unit, async (server) => {
      const post = (path: string, token: string, body: unknown) =>
        fetch(`http://${server.address}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        });
      const bad = await post('/api/dismount', TOKEN, { member: 'm2', policy: 'sometimes' });
      expect([bad.status, ((await bad.json()) as { error: { code: string } }).error.code]).toEqual([
        400,
        'INVALID_ARGUMENT',
      ]);
      expect((await post('/api/dismount', 'wrong', {})).status).toBe(401);
      expect((await post('/api/nothing', TOKEN, {})).status).toBe(404);
      await expect(new ControlClient(endpoint(server), 'wrong').verify()).rejects.toBeInstanceOf(IoError);
    });
  });
});
