import { byId } from './dom.js';
import { api } from './gateway-api.js';

// Pairing token, for the extension's settings.

export async function loadPairing(): Promise<void> {
  const { token } = await api<{ token: string }>('/api/dashboard/pairing');
  byId('token', HTMLInputElement).value = token;
}

export function wirePairing(): void {
  const input = byId('token', HTMLInputElement);
  const show = byId('token-show');
  const copy = byId('token-copy');
  show.addEventListener('click', () => {
    input.type = input.type === 'password' ? 'text' : 'password';
    show.textContent = input.type === 'password' ? 'Show' : 'Hide';
  });
  copy.addEventListener('click', async () => {
    await navigator.clipboard.writeText(input.value).then(
      () => (copy.textContent = 'Copied'),
      () => (copy.textContent = 'Copy failed'),
    );
    setTimeout(() => (copy.textContent = 'Copy'), 1500);
  });
}
