import { describe, expect, it } from 'vitest';
import { errnoCode, fsIoError } from '../../../adapters/devices/fs-error.js';
import { IoError } from '../../../domain/errors.js';

/** A Node-style system error. */
function systemError(code: string): Error {
  return Object.assign(new Error(`${code}: something`), { code });
}

describe('fs errors', () => {
  it('reads the errno of system errors only', () => {
    expect(errnoCode(systemError('EIO'))).toBe('EIO');
    expect(errnoCode(new Error('plain'))).toBeUndefined();
    expect(errnoCode({ code: 5 })).toBeUndefined();
    expect(errnoCode(null)).toBeUndefined();
  });

  it('names the action, path, errno and a fix where there is one, keeping the cause', () => {
    const cause = systemError('ENOSPC');
    const error = fsIoError('writing', '/x/m.img', cause);
    expect(error).toBeInstanceOf(IoError);
    expect(error.code).toBe('IO_ERROR');
    expect(error.message).toMatch(/^writing \/x\/m\.img failed \(ENOSPC\).*free space/);
    expect(error.cause).toBe(cause);
    expect(fsIoError('opening', '/p', systemError('EACCES')).message).toContain('permissions');
    expect(fsIoError('opening', '/p', systemError('EBUSY')).message).toContain('unmount');
    expect(fsIoError('opening', '/p', 'weird').message).toContain('(unknown error): weird');
  });
});
