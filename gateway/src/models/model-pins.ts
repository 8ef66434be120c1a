import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../data/write-file-atomic.js';

/**
 * A declared hash of "pending": the publisher's SHA-256 could not be confirmed when the
 * declaration was written (AiPlugs' default Web AI model, declared in code without network).
 * Only the gateway's built-in declarations may use it; plugin manifests must give a real hash.
 */
export const PENDING_SHA256 = 'pending';

const pinSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The declared source the pinned bytes came from: a different source is a different model. */
  source_url: z.string(),
  size: z.number().int().nonnegative(),
  pinned_at: z.string(),
});
export type ModelPin = z.infer<typeof pinSchema>;

const lockSchema = z.object({ version: z.literal(1), pins: z.record(z.string(), pinSchema) });

/**
 * The lock file of pending models (`<models>/.aiplugs/models.lock.json`): trust on first use.
 * The first complete download of a pending model pins its SHA-256 here; from then on that hash
 * is the declaration's, and every later start verifies the file against it like any declared
 * hash (a changed file is refused and fetched again, a source that now serves other bytes fails
 * with `hash_mismatch`). A pin applies only to the source URL it was taken from.
 *
 * @example
 *   const pins = createPinStore(stateDir);
 *   const pin = await pins.get('model.gguf', 'https://…/model.gguf'); // undefined until the first download
 */
export interface PinStore {
  readonly path: string;
  get(filename: string, sourceUrl: string): Promise<ModelPin | undefined>;
  pin(filename: string, pin: ModelPin): Promise<void>;
}

export function createPinStore(stateDir: string): PinStore {
  const path = join(stateDir, 'models.lock.json');
  const read = async (): Promise<z.infer<typeof lockSchema>> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, pins: {} };
      throw error;
    }
    const parsed = lockSchema.safeParse(JSON.parse(text));
    // A damaged lock must not silently unpin (that would trust the next download blindly).
    if (!parsed.success) throw new Error(`The model lock file ${path} is damaged (${parsed.error.issues[0]?.message ?? 'invalid'}); fix or delete it`);
    return parsed.data;
  };
  // Pins are written while the file's download lock is held; this chain orders writes in one process.
  let writing: Promise<void> = Promise.resolve();
  return {
    path,
    async get(filename, sourceUrl) {
      const pin = (await read()).pins[filename];
      return pin && pin.source_url === sourceUrl ? pin : undefined;
    },
    pin(filename, pin) {
      writing = writing.then(async () => {
        const lock = await read();
        await mkdir(stateDir, { recursive: true });
        lock.pins[filename] = pin;
        await writeFileAtomic(path, `${JSON.stringify(lock, null, 2)}\n`);
      });
      return writing;
    },
  };
}
