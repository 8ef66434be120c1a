import { ask } from '../../common/ask-background';

/**
 * The extension's question before it pairs on a page's offer (background/pairing-offer.ts). An
 * extension page no website can open or frame (not web-accessible), so the click is the user's.
 */
const byId = (id: string) => document.getElementById(id)!;

/** How long the tab must have been in view before its buttons take a click. */
const ARM_DELAY_MS = 1000;

/**
 * The buttons take clicks only once the tab has been in view for a moment, and again a moment after
 * it comes back: a page that has the user click fast where **Pair** is about to appear (it can
 * open this tab with its offer) gets nothing from the clicks that land here.
 */
function armAfterDelay(buttons: HTMLButtonElement[]): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const disarm = () => {
    clearTimeout(timer);
    for (const button of buttons) button.disabled = true;
  };
  const arm = () => {
    disarm();
    if (document.visibilityState === 'visible') timer = setTimeout(() => buttons.forEach((button) => (button.disabled = false)), ARM_DELAY_MS);
  };
  window.addEventListener('blur', disarm);
  window.addEventListener('focus', arm);
  document.addEventListener('visibilitychange', arm);
  arm();
}

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
  const accept = byId('accept') as HTMLButtonElement;
  const decline = byId('decline') as HTMLButtonElement;
  armAfterDelay([accept, decline]);
  accept.addEventListener('click', () => void decide(true), { once: true });
  decline.addEventListener('click', () => void decide(false), { once: true });
}

void start();
