import { ask } from '../../common/ask-background';

/**
 * The extension's question before it pairs on a page's offer (background/pairing-offer.ts). An
 * extension page no website can open or frame (not web-accessible), so the click is the user's.
 */
const byId = (id: string) => document.getElementById(id)!;

function show(state: string, message: string): void {
  const status = byId('status');
  status.dataset.state = state;
  status.textContent = message;
}

async function start(): Promise<void> {
  const offer = new URLSearchParams(location.search).get('offer') ?? '';
  const pending = await ask({ type: 'pairing-pending', offer });
  if (!pending) {
    show('gone', 'There is no pairing offer to answer here: it was answered, replaced, or has expired. To pair, press "Pair the extension" in your AiPlugs dashboard again.');
    return;
  }
  byId('address').textContent = pending.address;
  byId('question').hidden = false;
  show('waiting', `The offer expires at ${new Date(pending.expiresAt).toLocaleTimeString()}.`);
  const decide = async (accept: boolean) => {
    byId('question').hidden = true;
    show('deciding', accept ? 'Pairing…' : 'Declining…');
    const outcome = await ask({ type: 'pairing-decide', offer, accept }).catch((error: unknown) => ({ state: 'failed' as const, message: (error as Error).message }));
    show(outcome.state, outcome.message);
  };
  byId('accept').addEventListener('click', () => void decide(true), { once: true });
  byId('decline').addEventListener('click', () => void decide(false), { once: true });
}

void start();
