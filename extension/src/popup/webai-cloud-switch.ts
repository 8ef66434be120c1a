import { createGatewayClient } from '../common/gateway-client';
import { loadSettings } from '../common/storage';

/**
 * The popup's one Web AI control (docs/WEBAI.md): "this site may use cloud AI" for the tab's
 * origin, shown only where it matters: Web AI is on and some API is set to the cloud
 * (`webai.cloud_apis`). It edits `settings.webai_cloud_origins`, the list the dashboard edits too.
 */
export async function mountWebAiCloudSwitch(section: HTMLElement, tabUrl: string | null): Promise<void> {
  if (!tabUrl || !/^https?:/.test(tabUrl)) return;
  const origin = new URL(tabUrl).origin;
  const stored = await loadSettings();
  if (!stored.gatewayAddress || !stored.token) return;
  const client = createGatewayClient({ address: stored.gatewayAddress, token: stored.token });
  const [status, settings] = await Promise.all([client.webAiStatus(), client.settings()]).catch(() => [null, null] as const);
  if (!status || !settings || !status.enabled) return;
  const cloudApis = status.apis.filter((entry) => entry.backend === 'cloud').map((entry) => entry.api);
  if (cloudApis.length === 0) return;

  const label = document.createElement('label');
  label.id = 'webai-cloud-row';
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.dataset.testid = 'webai-cloud-site';
  box.checked = (settings.webai_cloud_origins ?? []).includes(origin);
  label.append(box, ` Let this site use cloud AI (${cloudApis.join(', ')})`);
  const error = document.createElement('p');
  error.className = 'error';
  error.hidden = true;
  section.append(label, error);
  box.addEventListener('change', () => {
    const allow = box.checked;
    error.hidden = true;
    // Re-read first: the dashboard may have changed the list since the popup opened.
    void client
      .settings()
      .then((latest) => {
        const others = (latest.webai_cloud_origins ?? []).filter((entry) => entry !== origin);
        return client.updateSettings({ webai_cloud_origins: allow ? [...others, origin] : others });
      })
      .then((updated) => {
        box.checked = (updated.webai_cloud_origins ?? []).includes(origin);
      })
      .catch((failure: unknown) => {
        box.checked = !allow;
        error.textContent = (failure as Error).message;
        error.hidden = false;
      });
  });
}
