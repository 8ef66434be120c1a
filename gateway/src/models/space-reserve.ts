import { ModelError } from './model-error.js';
import { formatBytes } from './progress-meter.js';
import type { ProvisionerSettings } from './provisioner-settings.js';

/**
 * Fails a download (fatally: no other source needs less disk) that would leave less than
 * `minFreeBytes` free. A disk whose free space cannot be measured is not checked; ENOSPC still
 * stops the download then.
 */
export async function ensureSpace(
  settings: Pick<ProvisionerSettings, 'freeSpace' | 'minFreeBytes'>,
  modelsDir: string,
  request: { filename: string; forWhom: string; bytesToCome: number },
): Promise<void> {
  const { filename, forWhom, bytesToCome } = request;
  const free = await settings.freeSpace(modelsDir).catch(() => undefined);
  if (free === undefined || free >= bytesToCome + settings.minFreeBytes) return;
  const reserve = `the ${formatBytes(settings.minFreeBytes)} kept free (models.min_free_bytes)`;
  const short = bytesToCome > 0 ? `it needs ${formatBytes(bytesToCome)} more to write plus ${reserve}` : `below ${reserve}`;
  throw new ModelError(
    'disk_full',
    `Not enough free space for model ${filename} (for ${forWhom}) in ${modelsDir}: ${formatBytes(Math.max(0, free))} is free, ${short}. ` +
      'Free some space and pull again (a partial download is kept and resumes), or move models elsewhere (--models-dir / AIPLUGS_MODELS_DIR)',
    { fatal: true },
  );
}
