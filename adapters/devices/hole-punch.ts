import { createRequire } from 'node:module';

/** The part of fs-native-extensions used here (the package ships no types). */
interface NativeTrim {
  /**
   * Deallocate `length` bytes at `offset`, keeping the file size: on Linux
   * fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) (node_modules/fs-native-extensions/src/linux.c),
   * on macOS fcntl(F_PUNCHHOLE). The range then reads as zeroes.
   */
  trim(fd: number, offset: number, length: number): Promise<void>;
}

let nativeTrim: NativeTrim | null = null;

/** Loaded on first use, as adapters/store/embedded/write-lock.ts does for the lock calls. */
function native(): NativeTrim {
  nativeTrim ??= createRequire(import.meta.url)('fs-native-extensions') as NativeTrim;
  return nativeTrim;
}

/** Error codes meaning "this file system or file cannot punch holes": fall back to zeroes. */
const UNSUPPORTED = new Set(['EOPNOTSUPP', 'ENOTSUP', 'ENOSYS', 'EINVAL', 'ENODEV']);

/**
 * Punch a hole of `length` bytes at `offset` in the image file open as `fd`. Resolves true when
 * the range now reads as zeroes and is deallocated, false when the file system cannot punch holes
 * (the caller writes zeroes instead); other errors reject.
 */
export async function punchHole(fd: number, offset: number, length: number): Promise<boolean> {
  try {
    await native().trim(fd, offset, length);
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && UNSUPPORTED.has(code)) return false;
    throw error;
  }
}
