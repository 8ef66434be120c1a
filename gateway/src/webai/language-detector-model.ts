import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { ModelDeclaration } from '../plugins/manifest-schema.js';

/** Where the fasttext.wasm.js npm package (a dependency, so present after any install) keeps its copy of lid.176. */
const PACKAGE_COPY = 'fasttext.wasm.js/dist/models/language-identification/assets/lid.176.ftz';

/**
 * fastText lid.176, the model `LanguageDetector` runs on: the official URL and its SHA-256, with
 * the byte-identical copy inside the fasttext.wasm.js package as the mirror (resolved through
 * Node's module resolution, so it is found wherever npm put the package: in this repository's
 * node_modules/ or hoisted above an installed aiplugs). It lives here, not in a plugin's
 * manifest, because the gateway's built-in serves it to every page and plugin.
 */
export function languageDetectorModel(): ModelDeclaration {
  const mirror = pathToFileURL(createRequire(import.meta.url).resolve(PACKAGE_COPY)).href;
  return {
    key: 'LID_MODEL_PATH',
    filename: 'lid.176.ftz',
    source_url: 'https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.ftz',
    sha256: '8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83',
    size: 938013,
    mirrors: [mirror],
  };
}
