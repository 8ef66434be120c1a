import { ACTIVITY_TYPES, type ActivityEvent } from './activity-events.js';
import { createRingBuffer } from './ring-buffer.js';

/** Everything the gateway reports to the dashboard and `GET /api/events`. */
export type GatewayEvent =
  | { type: 'log'; time: string; level: LogLevel; scope: string; message: string }
  | { type: 'model-progress'; time: string; plugin: string; filename: string; receivedBytes: number; totalBytes: number | null; bytesPerSecond: number; state: 'downloading' | 'verifying' | 'ready' | 'failed'; error?: string }
  | { type: 'worker-state'; time: string; plugin: string; state: string; detail?: string }
  | { type: 'settings'; time: string }
  | { type: 'cloud-usage'; time: string; plugin: string; requests: number; rejected: number; tokens: number; lastMinute: number; limits: { requestsPerMinute: number; maxTokens: number } }
  | (ActivityEvent & { time: string });

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type GatewayEventInput = DistributiveOmit<GatewayEvent, 'time'>;

export interface EventBus {
  emit(event: GatewayEventInput): void;
  /** Returns the function that unsubscribes. `onClose` runs when the bus closes (at once if it has). */
  subscribe(listener: (event: GatewayEvent) => void, onClose?: () => void): () => void;
  /** Ends every subscription: at shutdown, event streams finish instead of being cut off. */
  close(): void;
  /** The last events, oldest first, so a new dashboard sees recent history: activity after the rest. */
  recent(): GatewayEvent[];
}

export interface EventBusOptions {
  /** Events other than activity kept for replay. */
  history?: number;
  /** Activity events (documents, inference calls) kept for replay, in their own ring so a busy browser cannot push the log out (`logs.activity_events`). */
  activityHistory?: number;
}

/**
 * A synchronous in-process fan-out with two bounded rings of history (activity, everything else).
 * A listener that throws is dropped rather than allowed to break the emitter.
 */
export function createEventBus(options: EventBusOptions = {}): EventBus {
  const general = createRingBuffer<GatewayEvent>(options.history ?? 500);
  const activity = createRingBuffer<GatewayEvent>(options.activityHistory ?? 500);
  /** Each listener, with what it runs when the bus closes. */
  const listeners = new Map<(event: GatewayEvent) => void, (() => void) | undefined>();
  let closed = false;
  return {
    emit(input) {
      const event = { ...input, time: new Date().toISOString() } as GatewayEvent;
      (ACTIVITY_TYPES.has(event.type) ? activity : general).push(event);
      for (const listener of listeners.keys()) {
        try {
          listener(event);
        } catch {
          listeners.delete(listener);
        }
      }
    },
    subscribe(listener, onClose) {
      if (closed) {
        onClose?.();
        return () => undefined;
      }
      listeners.set(listener, onClose);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      const ending = [...listeners.values()];
      listeners.clear();
      for (const onClose of ending) onClose?.();
    },
    recent: () => [...general.toArray(), ...activity.toArray()],
  };
}
