// The AiPlugs dashboard: plain DOM code, no framework, bundled by esbuild into the dashboard.js
// the gateway serves (gateway/build/browser-bundles.ts). It talks to the gateway's own API with
// the session cookie its login link set, and follows GET /api/events (SSE) live. Every value from
// the gateway goes into textContent, never innerHTML.
import { clearActivity, onInference, onInjection, wireActivityFilters } from './activity-view.js';
import { wireBrowserButton } from './browser-card.js';
import { loadCa, wireCaButtons } from './ca-card.js';
import { loadCloudUsage, onCloudUsage } from './cloud-usage-table.js';
import { eventsUrl } from './gateway-api.js';
import { loadOverview, startUptime, wireStopButton } from './gateway-card.js';
import { clearLog, onLog, wireLogFilters } from './live-log.js';
import { loadModels, onModelProgress } from './models-table.js';
import { wirePairing } from './pairing-card.js';
import { loadPlugins } from './plugins-table.js';
import { setConnected, showStatus } from './status-pill.js';
import { loadSettings, wireSwitches } from './switches-card.js';
import { loadWebAi, mountWebAiCard } from './webai-card.js';
import { loadWorkers, onWorkerState } from './workers-table.js';

/** What each event of the stream updates (the event's data is the gateway's JSON for it). */
const EVENT_HANDLERS: Record<string, (data: never) => void> = {
  log: onLog,
  'model-progress': onModelProgress,
  'worker-state': onWorkerState,
  'cloud-usage': onCloudUsage,
  injection: onInjection,
  inference: onInference,
  settings: () => {
    loadSettings().catch(() => undefined);
    loadWebAi().catch(() => undefined);
  },
};

function connectEvents(): void {
  const source = new EventSource(eventsUrl());
  for (const [type, handle] of Object.entries(EVENT_HANDLERS)) {
    source.addEventListener(type, (message) => {
      try {
        handle(JSON.parse((message as MessageEvent<string>).data) as never);
      } catch (error) {
        console.error('dashboard event', type, error);
      }
    });
  }
  source.addEventListener('open', () => {
    clearLog();
    clearActivity();
    setConnected(true);
  });
  source.addEventListener('error', () => {
    setConnected(false);
  });
}

async function start(): Promise<void> {
  await Promise.all([loadOverview(), loadSettings()]);
  await Promise.all([loadPlugins(), loadModels(), loadWorkers(), loadCloudUsage(), loadCa(), loadWebAi()]);
  startUptime();
  connectEvents();
  document.body.dataset.ready = 'true';
}

mountWebAiCard();
wireStopButton();
wireSwitches();
wireCaButtons();
wirePairing();
wireLogFilters();
wireActivityFilters();
wireBrowserButton();
start().catch((error: unknown) => {
  showStatus(`error: ${(error as Error).message}`, 'bad');
});
