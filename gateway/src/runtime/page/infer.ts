import type { PluginStates } from './plugin-states.js';
import type { InferBody, Transport } from './transports.js';

/**
 * `AiPlugs.infer`: calls the plugin's backend over this page's transport. A failure puts the
 * plugin in error (shown in the extension's popup), a later success clears it; an abort is the
 * page's own doing and changes nothing.
 */
export function createInfer(transport: Transport, states: PluginStates): AiPlugsPageRuntime['infer'] {
  return <Result = unknown>(pluginId: string, payload?: unknown, options?: AiPlugsInferOptions): Promise<Result> => {
    const body: InferBody = { payload: payload === undefined ? null : payload };
    if (options && options.mode) body.mode = options.mode;
    // A payload JSON cannot carry throws where it is written: a rejection, like any other failure.
    return new Promise<unknown>((resolve) => resolve(transport.infer(pluginId, body, options && options.signal))).then(
      (result) => {
        if (states.get(pluginId)?.state === 'error') states.setState(pluginId, 'running');
        return result as Result;
      },
      (error: unknown) => {
        const plugin = states.get(pluginId);
        const failure = error as { name?: string; message?: string } | null | undefined;
        if (plugin && plugin.state !== 'stopped' && !(failure && failure.name === 'AbortError')) {
          states.setState(pluginId, 'error', (failure && failure.message) || String(error));
        }
        throw error;
      },
    );
  };
}
