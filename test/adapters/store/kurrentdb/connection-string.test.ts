import { KurrentDBClient } from '@kurrent/kurrentdb-client';
import { describe, expect, it } from 'vitest';
import {
  isKurrentDbConnectionString,
  parseKurrentDbConnectionString,
  storeSettingFrom,
} from '../../../../adapters/store/kurrentdb/connection-string.js';
import { InvalidArgumentError } from '../../../../domain/errors.js';

describe('parseKurrentDbConnectionString', () => {
  it('parses the docker-compose node string', () => {
    const c = parseKurrentDbConnectionString('kurrentdb://localhost:2113?tls=false');
    expect(c).toEqual({
      clientConnectionString: 'kurrentdb://localhost:2113?tls=false',
      display: 'kurrentdb://localhost:2113?tls=false',
      discover: false,
      hosts: [{ host: 'localhost', port: 2113 }],
      tls: false,
      username: undefined,
      options: { tls: 'false' },
    });
  });

  it('defaults the port to 2113 and TLS to on, and takes a trailing slash', () => {
    const c = parseKurrentDbConnectionString('  kurrentdb://db.example.com/  ');
    expect(c.hosts).toEqual([{ host: 'db.example.com', port: 2113 }]);
    expect(c.tls).toBe(true);
    expect(c.clientConnectionString).toBe('kurrentdb://db.example.com:2113');
  });

  it('rewrites the esdb schemes of EventStoreDB to kurrentdb, keeping discovery', () => {
    expect(parseKurrentDbConnectionString('esdb://127.0.0.1:1113?tls=false').clientConnectionString).toBe(
      'kurrentdb://127.0.0.1:1113?tls=false',
    );
    const d = parseKurrentDbConnectionString('esdb+discover://cluster.internal:2113');
    expect(d.discover).toBe(true);
    expect(d.clientConnectionString).toBe('kurrentdb+discover://cluster.internal:2113');
    expect(parseKurrentDbConnectionString('KurrentDB+Discover://c.internal').discover).toBe(true);
  });

  it('parses gossip seeds, credentials (masked in display) and options under the client spelling', () => {
    const c = parseKurrentDbConnectionString(
      'kurrentdb://admin:s3cr%40t@node1:2113,node2:2114,node3?tls_verify_cert=false&NodePreference=follower&defaultDeadline=5000',
    );
    expect(c.hosts).toEqual([
      { host: 'node1', port: 2113 },
      { host: 'node2', port: 2114 },
      { host: 'node3', port: 2113 },
    ]);
    expect(c.username).toBe('admin');
    expect(c.options).toEqual({
      tlsVerifyCert: 'false',
      nodePreference: 'follower',
      defaultDeadline: '5000',
    });
    expect(c.clientConnectionString).toBe(
      'kurrentdb://admin:s3cr%40t@node1:2113,node2:2114,node3:2113?tlsVerifyCert=false&nodePreference=follower&defaultDeadline=5000',
    );
    expect(c.display).toBe(
      'kurrentdb://admin:***@node1:2113,node2:2114,node3:2113?tlsVerifyCert=false&nodePreference=follower&defaultDeadline=5000',
    );
  });

  it('produces strings the official client accepts', () => {
    for (const input of [
      'kurrentdb://localhost:2113?tls=false',
      'esdb://a:b@h1,h2:3000?tls=false&keepAliveInterval=20000',
      'kurrentdb+discover://cluster.internal?nodePreference=leader&tls=false',
    ]) {
      const client = KurrentDBClient.connectionString(
        parseKurrentDbConnectionString(input).clientConnectionString,
      );
      void client.dispose();
    }
  });

  const bad: [string, RegExp][] = [
    ['', /is empty/],
    ['   ', /is empty/],
    ['localhost:2113', /must start with kurrentdb:\/\//],
    ['http://localhost:2113', /got 'http:\/\/'/],
    ['kurrentdb://', /names no host/],
    ['kurrentdb://?tls=false', /names no host/],
    ['kurrentdb://localhost:99999', /port '99999' of host 'localhost'/],
    ['kurrentdb://localhost:0', /port '0'/],
    ['kurrentdb://localhost:21x3', /port '21x3'/],
    ['kurrentdb://localhost:2113:1', /more than one ':'/],
    ['kurrentdb://a,,b', /empty host/],
    ['kurrentdb://[::1]:2113', /IPv6/],
    ['kurrentdb://bad_host!:2113', /not a host name/],
    ['kurrentdb://localhost:2113/streams', /a path is not allowed/],
    ['kurrentdb://localhost#x', /fragment/],
    ['kurrentdb://admin@localhost', /credentials must be 'user:password@'/],
    ['kurrentdb://:pw@localhost', /credentials must be/],
    ['kurrentdb://a:%zz@localhost', /bad percent-escape/],
    ['kurrentdb://localhost?tsl=false', /unknown option 'tsl'; known options: tls, tlsVerifyCert/],
    ['kurrentdb://localhost?tls=no', /option 'tls' must be true or false, got 'no'/],
    ['kurrentdb://localhost?tls', /option 'tls' must be key=value/],
    ['kurrentdb://localhost?tls=false&tls=true', /given twice/],
    ['kurrentdb://localhost?defaultDeadline=-5', /non-negative integer/],
    ['kurrentdb://localhost?nodePreference=nearest', /nodePreference' must be leader, follower/],
    ['kurrentdb+discover://a,b', /exactly one DNS name/],
  ];
  it.each(bad)('refuses %j with an InvalidArgumentError naming the problem', (input, problem) => {
    let error: unknown;
    try {
      parseKurrentDbConnectionString(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(problem);
    if (input.trim() !== '')
      expect((error as Error).message).toMatch(/example: kurrentdb:\/\/localhost:2113\?tls=false/);
  });

  it('never prints a password in an error', () => {
    expect(() => parseKurrentDbConnectionString('kurrentdb://admin:hunter2@localhost?bogus=1')).toThrow(
      /kurrentdb:\/\/admin:\*\*\*@localhost\?bogus=1/,
    );
  });
});

describe('store setting', () => {
  it('recognises KurrentDB connection strings by scheme', () => {
    expect(isKurrentDbConnectionString('kurrentdb://localhost:2113?tls=false')).toBe(true);
    expect(isKurrentDbConnectionString('ESDB://x')).toBe(true);
    expect(isKurrentDbConnectionString('kurrentdb+discover://x')).toBe(true);
    expect(isKurrentDbConnectionString('/var/lib/shadowlog')).toBe(false);
    expect(isKurrentDbConnectionString('embedded')).toBe(false);
    expect(isKurrentDbConnectionString('http://x')).toBe(false);
  });

  it('takes --store over SHADOWLOG_STORE, and ignores blank values', () => {
    const env = { SHADOWLOG_STORE: 'kurrentdb://env:2113' };
    expect(storeSettingFrom({ store: 'kurrentdb://flag:2113', env })).toBe('kurrentdb://flag:2113');
    expect(storeSettingFrom({ env })).toBe('kurrentdb://env:2113');
    expect(storeSettingFrom({ store: '  ', env })).toBe('kurrentdb://env:2113');
    expect(storeSettingFrom({ env: { SHADOWLOG_STORE: '' } })).toBeUndefined();
    expect(storeSettingFrom({})).toBeUndefined();
  });
});
