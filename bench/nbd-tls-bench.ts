/**
 * NBD over TLS vs plain: one shadowlog set served with `tls.mode` 'on' (TLS offered, plain
 * allowed), so both runs hit the same server, engine and member files in the same process.
 *
 * The client is fio's nbd engine (QD16, time-bounded): 4 KiB random writes and 1 MiB sequential
 * writes. fio cannot do TLS with certificates itself (libnbd refuses local files in the URI fio
 * passes, and qemu-img bench has no --object), so both runs go through `nbdkit nbd` relaying a
 * Unix socket to the server: `tls=off` for plain, `tls=require tls-certificates=DIR` for TLS.
 * The relay hop is the same in both. Certificates: a CA, server and client made with certtool.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileMemberAccess } from '../adapters/devices/file-member-access.js';
import { createSparseImage } from '../adapters/devices/sparse-image.js';
import { startSetNbdServer } from '../adapters/nbd/shadow-set-export.js';
import { openEmbeddedStore } from '../adapters/store/embedded/index.js';
import { VirtualUnit } from '../processes/virtual-unit.js';

/** Result of {@link runNbdTlsBench}. */
export interface NbdTlsBenchResult {
  readonly suite: 'nbd-tls';
  /** Which client measured and how TLS was set up. */
  readonly method: string;
  readonly tls: {
    /** 4 KiB writes, QD16. */
    readonly randwrite4k: { readonly plainIops: number; readonly tlsIops: number; readonly ratio: number };
    /** 1 MiB sequential writes, QD16. */
    readonly seqwrite1m: { readonly plainMiBps: number; readonly tlsMiBps: number; readonly ratio: number };
  };
}

/** Options of {@link runNbdTlsBench}. */
export interface NbdTlsBenchOptions {
  /** Scratch directory (set, log, certificates). */
  readonly dir: string;
  /** 3 s instead of 10 s per workload, for smoke tests. */
  readonly quick?: boolean;
}

const SET_BYTES = 1024 * 1024 * 1024;
const QUEUE_DEPTH = 16;
/** Interleaved plain/TLS rounds; each side reports its best. */
const ROUNDS = 2;

function exec(tool: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tool, [...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function certtool(dir: string, name: string, lines: readonly string[], sign: readonly string[]) {
  const key = join(dir, `${name}-key.pem`);
  await exec('certtool', ['--generate-privkey', '--outfile', key], 60_000);
  const info = join(dir, `${name}.info`);
  await writeFile(info, `${lines.join('\n')}\nexpiration_days = 2\n`);
  await exec(
    'certtool',
    [...sign, '--load-privkey', key, '--template', info, '--outfile', join(dir, `${name}-cert.pem`)],
    60_000,
  );
}

/** ca-cert.pem, server-*.pem and client-*.pem in one directory (qemu reads what it needs). */
async function makeCertificates(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await certtool(dir, 'ca', ['cn = bench CA', 'ca', 'cert_signing_key'], ['--generate-self-signed']);
  const signBy = [
    '--generate-certificate',
    '--load-ca-certificate',
    join(dir, 'ca-cert.pem'),
    '--load-ca-privkey',
    join(dir, 'ca-key.pem'),
  ];
  await certtool(
    dir,
    'server',
    ['cn = localhost', 'ip_address = 127.0.0.1', 'tls_www_server', 'encryption_key', 'signing_key'],
    signBy,
  );
  await certtool(
    dir,
    'client',
    ['cn = bench client', 'tls_www_client', 'encryption_key', 'signing_key'],
    signBy,
  );
}

/** Start `nbdkit nbd` on a Unix socket, relaying to the shadowlog server (TLS with `certsDir`). */
async function startRelay(port: number, socket: string, certsDir: string | undefined): Promise<ChildProcess> {
  const tls = certsDir ? ['tls=require', `tls-certificates=${certsDir}`] : ['tls=off'];
  const child = spawn(
    'nbdkit',
    ['-f', '-U', socket, 'nbd', 'hostname=127.0.0.1', `port=${port}`, 'export=bench', ...tls],
    {
      stdio: 'ignore',
    },
  );
  // Bounded: 150 × 100 ms for nbdkit to create its socket.
  for (let i = 0; i < 150; i++) {
    if (
      await stat(socket).then(
        () => true,
        () => false,
      )
    )
      return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`nbdkit nbd relay did not create ${socket}`);
}

/** Write IOPS of one time-bounded fio run through the relay's socket. */
async function fioIops(
  socket: string,
  rw: string,
  blockSize: string,
  runtimeSeconds: number,
): Promise<number> {
  const stdout = await exec(
    'fio',
    [
      '--name=tls',
      '--ioengine=nbd',
      `--uri=nbd+unix:///?socket=${socket}`,
      `--rw=${rw}`,
      `--bs=${blockSize}`,
      `--iodepth=${QUEUE_DEPTH}`,
      '--time_based',
      `--runtime=${runtimeSeconds}`,
      '--output-format=json',
    ],
    (runtimeSeconds + 60) * 1000,
  );
  const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
    jobs: Array<{ error: number; write: { iops: number } }>;
  };
  const job = report.jobs[0];
  if (job?.error !== 0) throw new Error(`fio ${rw} ${blockSize} failed (error ${job?.error})`);
  return job.write.iops;
}

/** [4k randwrite IOPS, 1M write MiB/s] through a relay, which is stopped afterwards. */
async function measure(port: number, socket: string, certsDir: string | undefined, seconds: number) {
  const relay = await startRelay(port, socket, certsDir);
  try {
    const random = await fioIops(socket, 'randwrite', '4k', seconds);
    const sequential = await fioIops(socket, 'write', '1m', seconds);
    return [Math.round(random), Math.round(sequential)] as const;
  } finally {
    relay.kill('SIGTERM');
    await new Promise((r) => relay.once('exit', r));
  }
}

const ratio = (tls: number, plain: number) => Math.round((tls / plain) * 100) / 100;

/** Run the TLS vs plain benchmark (see the file comment). Needs qemu-img and certtool. */
export async function runNbdTlsBench(options: NbdTlsBenchOptions): Promise<NbdTlsBenchResult> {
  const certsDir = join(options.dir, 'pki');
  await makeCertificates(certsDir);
  const paths = [join(options.dir, 'm1.img'), join(options.dir, 'm2.img')];
  for (const path of paths) await createSparseImage(path, SET_BYTES);
  const store = await openEmbeddedStore(join(options.dir, 'log'), { streamId: 'bench' });
  const access = new FileMemberAccess();
  await VirtualUnit.create(store, access, { setId: 'bench', blocks: SET_BYTES / 512, memberPaths: paths });
  const unit = await VirtualUnit.open({ store, access, recover: false });
  const file = (name: string) => readFile(join(certsDir, name));
  const server = await startSetNbdServer(unit, 'bench', {
    host: '127.0.0.1',
    port: 0,
    tls: {
      mode: 'on',
      x509: { key: await file('server-key.pem'), cert: await file('server-cert.pem'), verifyPeer: false },
    },
  });
  const port = server.address.port;
  const seconds = options.quick ? 3 : 10;
  try {
    // Warm-up: the member files grow on first touch; both measured runs then see the same state.
    await measure(port, join(options.dir, 'warm.sock'), undefined, Math.min(seconds, 3));
    // Interleaved rounds, best of each: on a shared machine the order and the neighbours'
    // load otherwise decide more than TLS does.
    const plain = [0, 0];
    const secure = [0, 0];
    for (let round = 0; round < ROUNDS; round++) {
      const p = await measure(port, join(options.dir, `plain-${round}.sock`), undefined, seconds);
      const t = await measure(port, join(options.dir, `tls-${round}.sock`), certsDir, seconds);
      for (let i = 0; i < 2; i++) {
        plain[i] = Math.max(plain[i]!, p[i]!);
        secure[i] = Math.max(secure[i]!, t[i]!);
      }
    }
    const [plainIops, plainMiBps] = plain as [number, number];
    const [tlsIops, tlsMiBps] = secure as [number, number];
    return {
      suite: 'nbd-tls',
      method:
        'fio nbd engine, QD16, via an nbdkit nbd relay (tls=off vs tls=require, x509), one server with tls on, best of 2 interleaved rounds',
      tls: {
        randwrite4k: { plainIops, tlsIops, ratio: ratio(tlsIops, plainIops) },
        seqwrite1m: { plainMiBps, tlsMiBps, ratio: ratio(tlsMiBps, plainMiBps) },
      },
    };
  } finally {
    await server.close();
    await unit.close();
    await store.close();
  }
}
