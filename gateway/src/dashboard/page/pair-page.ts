// The gateway's `/pair` page, which `aiplugs browser` opens first: it hands the one-time code in
// its fragment (never sent to a server, never in a log) to the extension, then goes on to the page
// the user asked for. Bundled by esbuild (gateway/build/browser-bundles.ts) as pairing.js.
import { offerToExtension } from './offer-to-extension.js';

/** A browser that just started may show this page before the extension is ready: reload a few times. */
const MAX_RELOADS = 3;
const RELOADS_KEY = 'aiplugs-pair-reloads';

const say = (text: string, state: string) => {
  const line = document.getElementById('pair-status')!;
  line.textContent = text;
  document.body.dataset.state = state;
};

/** Only web pages: the `next` of a fragment is not a place to run script from. */
function safeNext(value: string | null): string | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

async function pair(): Promise<void> {
  const params = new URLSearchParams(location.hash.slice(1));
  const code = params.get('code');
  const next = safeNext(params.get('next'));
  if (!code) {
    say('This page pairs the AiPlugs extension when `aiplugs browser` opens it; there is nothing to do here.', 'idle');
    return;
  }
  const result = await offerToExtension(code, 2500);
  const reloads = Number(sessionStorage.getItem(RELOADS_KEY) ?? '0');
  if (!result && reloads < MAX_RELOADS) {
    sessionStorage.setItem(RELOADS_KEY, String(reloads + 1));
    location.reload();
    return;
  }
  sessionStorage.removeItem(RELOADS_KEY);
  // The code is spent either way; keep it out of the history entry.
  history.replaceState(null, '', location.pathname);
  if (result) say(result.message, result.paired ? 'paired' : 'failed');
  else say('No AiPlugs extension answered in this browser: plugins still come through the proxy, but the popup cannot show them.', 'no-extension');
  if (next) setTimeout(() => location.replace(next), result?.paired ? 300 : 2500);
}

void pair();
