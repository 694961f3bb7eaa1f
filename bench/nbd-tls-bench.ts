/**
 * NBD over TLS vs plain: one shadowlog set served with `tls.mode` 'on' (TLS offered, plain
 * allowed), so both runs hit the same server, engine and member files in the same process.
 *
 * The client is `qemu-img bench` (QD16, `--image-opts driver=nbd`, and for TLS a
 * `tls-creds-x509` object): fio's nbd engine cannot do TLS with certificates (libnbd forbids
 * local files in URIs it is given). Workloads: 4 KiB writes at a pseudo-random stride (step
 * 7919 × 4 KiB, odd, so every 4 KiB slot of the 1 GiB set is visited) and 1 MiB sequential
 * writes. Certificates: a CA, server and client made with certtool in the scratch directory.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
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
  /** Fewer requests, for smoke tests. */
  readonly quick?: boolean;
}

const SET_BYTES = 1024 * 1024 * 1024;
const QUEUE_DEPTH = 16;
const STRIDE_4K_BYTES = 7919 * 4096;

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

/** Seconds `qemu-img bench` takes for `count` writes of `sizeBytes` with the given stride. */
async function qemuBench(
  port: number,
  certsDir: string | undefined,
  sizeBytes: number,
  stepBytes: number,
  count: number,
): Promise<number> {
  const tls = certsDir ? ['--object', `tls-creds-x509,id=tls0,dir=${certsDir},endpoint=client`] : [];
  const opts = `driver=nbd,host=127.0.0.1,port=${port},export=bench${certsDir ? ',tls-creds=tls0' : ''}`;
  const args = [
    'bench',
    ...tls,
    '--image-opts',
    '-w',
    '-t',
    'none',
    '-d',
    String(QUEUE_DEPTH),
    '-s',
    String(sizeBytes),
    '-S',
    String(stepBytes),
    '-c',
    String(count),
    opts,
  ];
  const started = performance.now();
  await exec('qemu-img', args, 600_000);
  return (performance.now() - started) / 1000;
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
  const count4k = options.quick ? 4_000 : 40_000;
  const count1m = options.quick ? 256 : 2_048;
  try {
    // Warm-up: the log and member files grow on first touch; both runs then see the same state.
    await qemuBench(port, undefined, 1 << 20, 1 << 20, Math.min(count1m, 512));
    const plain4k = await qemuBench(port, undefined, 4096, STRIDE_4K_BYTES, count4k);
    const tls4k = await qemuBench(port, certsDir, 4096, STRIDE_4K_BYTES, count4k);
    const plain1m = await qemuBench(port, undefined, 1 << 20, 1 << 20, count1m);
    const tls1m = await qemuBench(port, certsDir, 1 << 20, 1 << 20, count1m);
    const plainIops = Math.round(count4k / plain4k);
    const tlsIops = Math.round(count4k / tls4k);
    const plainMiBps = Math.round(count1m / plain1m);
    const tlsMiBps = Math.round(count1m / tls1m);
    return {
      suite: 'nbd-tls',
      method: 'qemu-img bench, QD16, tls-creds-x509 (TLS 1.3), one server with --tls on',
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
