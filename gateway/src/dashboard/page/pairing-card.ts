import { byId } from './dom.js';
import { api } from './gateway-api.js';
import { nextPairingResult, offerToExtension } from './offer-to-extension.js';
import { PAIRING_CODE_TTL_MS } from './pairing-messages.js';

// Pairing: one click hands the extension in this browser a one-time code (never the token), which
// it redeems once the user confirms in a tab of its own; the token itself is shown only on
// request, for browsers where that cannot work (Firefox).

/** A little longer than a code lives: the extension answers once the user has. */
const CONFIRMATION_WAIT_MS = PAIRING_CODE_TTL_MS + 10_000;

async function loadToken(): Promise<string> {
  const input = byId('token', HTMLInputElement);
  if (!input.value) input.value = (await api<{ token: string }>('/api/dashboard/pairing')).token;
  return input.value;
}

async function pairExtension(button: HTMLElement, result: HTMLElement): Promise<void> {
  button.setAttribute('disabled', '');
  result.dataset.state = 'pending';
  result.textContent = 'Pairing…';
  try {
    const { code } = await api<{ code: string }>('/api/pairing/codes', { method: 'POST', body: '{}' });
    let answer = await offerToExtension(code);
    if (answer?.pending) {
      result.dataset.state = 'confirm';
      result.textContent = answer.message;
      answer = (await nextPairingResult(CONFIRMATION_WAIT_MS)) ?? { ...answer, pending: false, message: 'No answer came from the AiPlugs tab while the code lived: press "Pair the extension" again.' };
    }
    result.dataset.state = answer?.paired ? 'paired' : 'failed';
    result.textContent = answer
      ? answer.message
      : 'No AiPlugs extension answered in this browser. Install it (docs/EXTENSION.md) or open a browser with `aiplugs browser`; in Firefox, paste the token below into its popup.';
  } catch (error) {
    result.dataset.state = 'failed';
    result.textContent = `Pairing failed: ${(error as Error).message}`;
  } finally {
    button.removeAttribute('disabled');
  }
}

export function wirePairing(): void {
  const input = byId('token', HTMLInputElement);
  const show = byId('token-show');
  const copy = byId('token-copy');
  const pair = byId('pair-extension');
  pair.addEventListener('click', () => void pairExtension(pair, byId('pair-result')));
  show.addEventListener('click', async () => {
    await loadToken();
    input.type = input.type === 'password' ? 'text' : 'password';
    show.textContent = input.type === 'password' ? 'Show' : 'Hide';
  });
  copy.addEventListener('click', async () => {
    await navigator.clipboard.writeText(await loadToken()).then(
      () => (copy.textContent = 'Copied'),
      () => (copy.textContent = 'Copy failed'),
    );
    setTimeout(() => (copy.textContent = 'Copy'), 1500);
  });
}
