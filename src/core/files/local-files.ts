// Where the Files API's bytes live: `--files file:<dir>` (the default, beside the sqlite store), one file per
// upload named by its id. An upload is written under a temporary name and renamed when whole, so a reader
// never sees half a file. The metadata (owner, purpose, expiry) is the store's.
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";

export interface FileStorage {
  /** Where formidable writes an upload while it streams in (then `adopt` takes it). */
  readonly incoming: string;
  /** Takes an upload written at `path` as the bytes of `id`; its size. */
  adopt(id: string, path: string): Promise<number>;
  read(id: string): Readable;
  remove(id: string): Promise<void>;
  /** Where the bytes live, for the start-up line. */
  readonly location: string;
}

const SAFE_ID = /^file-[0-9a-f]{48}$/;

export async function createLocalFiles(dir: string): Promise<FileStorage> {
  const incoming = join(dir, ".incoming");
  await mkdir(incoming, { recursive: true });
  const pathOf = (id: string) => {
    if (!SAFE_ID.test(id)) throw new Error(`not a file id: ${id.slice(0, 60)}`);
    return join(dir, id);
  };
  return {
    incoming,
    location: `file:${dir}`,
    async adopt(id, path) {
      const target = pathOf(id);
      await rename(path, target);
      return (await stat(target)).size;
    },
    read: (id) => createReadStream(pathOf(id)),
    remove: (id) => rm(pathOf(id), { force: true }),
  };
}
