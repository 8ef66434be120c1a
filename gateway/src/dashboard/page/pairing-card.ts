import { byId } from './dom.js';
import { api } from './gateway-api.js';
import { offerToExtension } from './offer-to-extension.js';

// Pairing: one click hands the extension in this browser a one-time code (never the token); the
// token itself is shown only on request, for browsers where that cannot work (Firefox).

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
    const answer = await offerToExtension(code);
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
