import type { ModelPeer } from '../plugins/plugin-registry.js';
import { ModelError } from './model-error.js';
import { PENDING_SHA256 } from './model-pins.js';

/** What deciding a shared file name needs to know about one file's provisioning. */
export interface NameClaim {
  filename: string;
  /** Where the file is (or would be). */
  target: string;
  /** The hash these plugins want (null: a pending declaration's first download). */
  expected: string | null;
  /** What their manifests declare (a hash, or "pending"): compared with what the peers declare. */
  declared: string;
  /** The plugins asking, all for `expected`. */
  plugins: string[];
  /** Every other plugin that declares the file name, with its hash (the registry's `modelPeers`). */
  peers: ModelPeer[];
}

const RESOLVE = 'Rename the model (its "filename") in one of the manifests so that each plugin gets its own file';

/**
 * Settles one model file name that plugins declare with different hashes (docs/MODELS.md §1).
 * A verified file on disk belongs to the plugins whose hash it has: it is never moved aside or
 * replaced for another hash, and the plugins that want another one get `conflict`. While no file
 * is on disk (or the one there matches no declaration, a corrupt file), the name goes to the
 * first declaring plugin in id order, whoever asks first, so the outcome does not depend on timing.
 * Null when these plugins may have the file (or fetch it).
 *
 * @example
 *   const refused = nameConflict(claim, present?.sha256); // present: the hash of the file on disk
 *   if (refused) throw refused;
 */
export function nameConflict(claim: NameClaim, onDisk: string | undefined): ModelError | null {
  const { filename, target, expected, declared, plugins } = claim;
  // Declarations are compared as written: two plugins that both say "pending" share one file.
  const rivals = claim.peers.filter((peer) => peer.filename === filename && peer.sha256 !== declared && !plugins.includes(peer.plugin));
  if (rivals.length === 0 || (onDisk !== undefined && onDisk === expected)) return null;
  const asking = `${plugins.length > 1 ? 'plugins' : 'plugin'} ${plugins.join(', ')}`;
  // A rival whose declaration is pending may have pinned the file on disk: it is left alone too.
  const holders = rivals.filter((rival) => rival.sha256 === onDisk || rival.sha256 === PENDING_SHA256).map((rival) => rival.plugin);
  if (onDisk !== undefined && holders.length > 0) {
    return new ModelError(
      'conflict',
      `Model ${filename}: ${asking} declares SHA-256 ${declared}, but ${target} is the verified file of ${holders.join(', ')} (SHA-256 ${onDisk}), ` +
        `declared under the same file name; it is left alone and ${holders.join(', ')} keeps using it. ${RESOLVE} (${[...plugins, ...holders].join(' or ')}).`,
    );
  }
  if (onDisk !== undefined) return null; // matches nobody: corrupt, moved aside by the caller; then asked again
  const declarers = [...plugins.map((plugin) => ({ plugin, sha256: declared })), ...claim.peers.filter((peer) => peer.filename === filename)];
  const first = declarers.reduce((a, b) => (b.plugin < a.plugin ? b : a));
  if (first.sha256 === declared) return null;
  return new ModelError(
    'conflict',
    `Model ${filename}: ${asking} declares SHA-256 ${declared}, but ${first.plugin} declares the same file name with SHA-256 ${first.sha256}; ` +
      `no file is on disk yet, so the first declaring plugin in id order (${first.plugin}) gets the name. ${RESOLVE} (${[...plugins, first.plugin].join(' or ')}).`,
  );
}
