/** Everything the gateway reports to the dashboard and `GET /api/events`. */
export type GatewayEvent =
  | { type: 'log'; time: string; level: LogLevel; scope: string; message: string }
  | { type: 'model-progress'; time: string; plugin: string; filename: string; receivedBytes: number; totalBytes: number | null; bytesPerSecond: number; state: 'downloading' | 'verifying' | 'ready' | 'failed'; error?: string }
  | { type: 'worker-state'; time: string; plugin: string; state: string; detail?: string }
  | { type: 'settings'; time: string }
  | { type: 'cloud-usage'; time: string; plugin: string; requests: number; rejected: number; tokens: number; lastMinute: number; limits: { requestsPerMinute: number; maxTokens: number } };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type GatewayEventInput = DistributiveOmit<GatewayEvent, 'time'>;

export interface EventBus {
  emit(event: GatewayEventInput): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: (event: GatewayEvent) => void): () => void;
  /** The last events, oldest first, so a new dashboard sees recent history. */
  recent(): GatewayEvent[];
}

/**
 * A synchronous in-process fan-out with a small ring buffer of history.
 * A listener that throws is dropped rather than allowed to break the emitter.
 */
export function createEventBus(options: { history?: number } = {}): EventBus {
  const history = options.history ?? 500;
  const listeners = new Set<(event: GatewayEvent) => void>();
  const buffer: GatewayEvent[] = [];
  return {
    emit(input) {
      const event = { ...input, time: new Date().toISOString() } as GatewayEvent;
      buffer.push(event);
      if (buffer.length > history) buffer.shift();
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          listeners.delete(listener);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    recent: () => [...buffer],
  };
}
