import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LogCorruptError } from '../../domain/errors.js';

/**
 * `manifest.json` of an incident bundle (docs/log-format.md, "Incident bundles"): what the
 * bundle holds and the size and SHA-256 of every other file in it, so a bundle copied to
 * another machine is checked in full before anything in it is believed.
 */

/** The file that makes a folder an incident bundle. */
export const BUNDLE_MANIFEST_FILE = 'manifest.json';
/** Value of `format` in every bundle manifest. */
export const BUNDLE_FORMAT = 'shadowlog-incident-bundle';
/** Bundle format version written by this build; a reader refuses any other. */
export const BUNDLE_FORMAT_VERSION = 1;
/** The bundle's embedded log folder, relative to the bundle. */
export const BUNDLE_LOG_DIR = 'log';
/** The bundle's snapshot folder, relative to the bundle. */
export const BUNDLE_SNAPSHOT_DIR = 'snapshots';

/** One file of a bundle as its manifest lists it. */
export interface BundleFile {
  /** Path relative to the bundle folder, `/`-separated. */
  readonly path: string;
  /** Size in bytes. */
  readonly sizeBytes: number;
  /** SHA-256 of the file, lowercase hex (`sha256sum` prints the same). */
  readonly sha256: string;
}

/** What `manifest.json` says. */
export interface BundleManifest {
  /** Always {@link BUNDLE_FORMAT}. */
  readonly format: string;
  /** {@link BUNDLE_FORMAT_VERSION} when written by this build. */
  readonly formatVersion: number;
  /** The shadow set the events come from. */
  readonly set: string;
  /** The window asked for: positions and recorded times (ISO) of its first and last events. */
  readonly window: {
    readonly fromPosition: number;
    readonly toPosition: number;
    readonly fromTime: string;
    readonly toTime: string;
  };
  /**
   * First position of the bundle's log: the window's start, or earlier when the minimerge
   * bitmap as of the window's start reaches back further (see docs/log-format.md).
   */
  readonly logFirstPosition: number;
  /** Position of the projection snapshot (logFirstPosition - 1), or null when the log starts at 0. */
  readonly snapshotPosition: number | null;
  /** Events in the bundle's log. */
  readonly events: number;
  /** Events of the window (fromPosition..toPosition) by type. */
  readonly eventsByType: Readonly<Record<string, number>>;
  /** Every other file of the bundle. */
  readonly files: readonly BundleFile[];
  /** Version of shadowlog that wrote the bundle. */
  readonly shadowlogVersion: string;
  /** When the bundle was written (ISO). */
  readonly createdAt: string;
}

/** Size and SHA-256 of every file under `root` (recursively), paths relative to it, sorted. */
export async function listBundleFiles(root: string): Promise<BundleFile[]> {
  const out: BundleFile[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const path = relative(root, full).split('\\').join('/');
    if (path === BUNDLE_MANIFEST_FILE) continue;
    const bytes = await readFile(full);
    out.push({ path, sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The manifest of the bundle in `dir`, or null when `dir` holds no manifest.json. Damage is LogCorruptError. */
export async function readBundleManifest(dir: string): Promise<BundleManifest | null> {
  const file = join(dir, BUNDLE_MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  let parsed: BundleManifest;
  try {
    parsed = JSON.parse(text) as BundleManifest;
  } catch (error) {
    throw new LogCorruptError(
      `incident bundle ${file} is damaged: ${(error as Error).message}; export the bundle again`,
    );
  }
  const fine =
    parsed?.format === BUNDLE_FORMAT &&
    Number.isSafeInteger(parsed.logFirstPosition) &&
    Number.isSafeInteger(parsed.window?.fromPosition) &&
    Number.isSafeInteger(parsed.window?.toPosition) &&
    Array.isArray(parsed.files);
  if (!fine)
    throw new LogCorruptError(`incident bundle ${file} is damaged: fields missing; export the bundle again`);
  if (parsed.formatVersion !== BUNDLE_FORMAT_VERSION) {
    throw new LogCorruptError(
      `incident bundle ${file} has format version ${parsed.formatVersion}; this shadowlog reads version ${BUNDLE_FORMAT_VERSION}`,
    );
  }
  return parsed;
}

/**
 * Check every file of the bundle against its manifest: each listed file present with its size
 * and SHA-256, and no segment or snapshot that it does not list. A mismatch is
 * LogCorruptError (exit 5) naming the file.
 */
export async function verifyBundleFiles(dir: string, manifest: BundleManifest): Promise<void> {
  const found = new Map((await listBundleFiles(dir)).map((f) => [f.path, f]));
  for (const listed of manifest.files) {
    const file = found.get(listed.path);
    const where = join(dir, listed.path);
    if (file === undefined) throw bundleCorrupt(where, 'is missing');
    if (file.sizeBytes !== listed.sizeBytes) {
      throw bundleCorrupt(where, `is ${file.sizeBytes} bytes, the manifest says ${listed.sizeBytes}`);
    }
    if (file.sha256 !== listed.sha256)
      throw bundleCorrupt(where, 'SHA-256 differs from the manifest (damaged)');
    found.delete(listed.path);
  }
  for (const extra of found.keys()) {
    if (/\.(seg|idx|snap)$/.test(extra) || extra.endsWith('MANIFEST')) {
      throw bundleCorrupt(
        join(dir, extra),
        'is not listed in the manifest: it does not belong to this bundle',
      );
    }
  }
}

function bundleCorrupt(file: string, what: string): LogCorruptError {
  return new LogCorruptError(
    `incident bundle corrupt: ${file} ${what}; copy the bundle again or export it again from the set`,
  );
}
