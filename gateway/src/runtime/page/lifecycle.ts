import type { FileLoader } from './loading.js';
import type { PageWorld } from './page-world.js';
import type { PluginStates } from './plugin-states.js';
import type { PlanFile, PluginPlan, ReconcilePlan, RunAt } from './runtime-config.js';

const RUN_AT_ORDER: readonly RunAt[] = ['document_start', 'document_end', 'document_idle'];

/** Starting and stopping plugins in this page (the extension drives it through `__aiplugsRuntime.reconcile`). */
export interface Lifecycle {
  /**
   * Makes the running set equal the plan's: plugins no longer listed are told to tear down, newly
   * listed ones start. A plugin in error is only restarted when `plan.retry` is set.
   */
  reconcile(plan: ReconcilePlan): string[];
  onStop: AiPlugsPageRuntime['onStop'];
}

/**
 * @param endRun called when a plugin's run ends: it stops, or restarts (a retry after an error),
 *   so whatever the runtime holds for that run (its dock entries) goes before scripts run again.
 */
export function createLifecycle(world: PageWorld, states: PluginStates, loader: FileLoader, endRun: (pluginId: string) => void = () => undefined): Lifecycle {
  const { w } = world;

  function startPlugin(plan: PluginPlan): void {
    const { id } = plan;
    const plugin = states.record(id);
    endRun(id);
    plugin.state = 'running';
    plugin.error = '';
    plugin.stops = [];
    const scripts = plan.scripts || [];
    scripts.forEach((script) => {
      (script.css || []).forEach((file) => {
        loader.addStyle(id, file);
      });
    });
    RUN_AT_ORDER.forEach((runAt) => {
      let files: PlanFile[] = [];
      scripts.forEach((script) => {
        if (script.run_at === runAt) files = files.concat(script.js || []);
      });
      if (files.length === 0) return;
      loader.whenReady(runAt, () => {
        if (plugin.state === 'stopped') return; // navigated away before its time came
        files.forEach((file) => {
          loader.loadScript(id, file);
        });
      });
    });
    world.emit('aiplugs:plugin-start', { id, url: w.location.href });
  }

  function stopPlugin(id: string): void {
    const plugin = states.get(id);
    if (!plugin || plugin.state === 'stopped') return;
    plugin.state = 'stopped';
    plugin.error = '';
    endRun(id);
    const stops = plugin.stops;
    plugin.stops = [];
    stops.forEach((callback) => {
      try {
        callback({ id, url: w.location.href });
      } catch (error) {
        // Reported like an uncaught error of the plugin, without stopping the others' teardown.
        setTimeout(() => {
          throw error;
        }, 0);
      }
    });
    // Its style sheets stop applying (its scripts have run; removing them changes nothing).
    const elements = document.querySelectorAll('[data-aiplugs-plugin]');
    for (let i = 0; i < elements.length; i += 1) {
      if (elements[i]?.getAttribute('data-aiplugs-plugin') === id) elements[i]?.remove();
    }
    world.emit('aiplugs:plugin-stop', { id, url: w.location.href });
  }

  function reconcile(plan: ReconcilePlan): string[] {
    // The capability the extension brings for the new URL's plugins: later bridge calls use it.
    if (world.transport === 'bridge' && typeof plan.bridge === 'string' && plan.bridge.indexOf('/__aiplugs/cap/') === 0) {
      world.bridge = world.origin + plan.bridge;
    }
    const wanted = new Map<string, PluginPlan>();
    (plan.plugins || []).forEach((item) => {
      wanted.set(item.id, item);
    });
    states.ids().forEach((id) => {
      if (!wanted.has(id)) stopPlugin(id);
    });
    (plan.plugins || []).forEach((item) => {
      const known = states.get(item.id);
      if (!known || known.state === 'stopped' || (plan.retry && known.state === 'error')) startPlugin(item);
    });
    states.report();
    return states.running();
  }

  function onStop(pluginId: string, callback: (info: AiPlugsStopInfo) => void): () => void {
    const plugin = states.record(pluginId);
    plugin.stops.push(callback);
    return () => {
      const index = plugin.stops.indexOf(callback);
      if (index >= 0) plugin.stops.splice(index, 1);
    };
  }

  return { reconcile, onStop };
}
