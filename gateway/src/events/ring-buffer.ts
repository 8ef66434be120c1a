/**
 * A fixed-capacity buffer that keeps the newest items: pushing into a full buffer overwrites the
 * oldest in O(1), so a burst of events costs no copying and never more than `capacity` slots.
 */
export interface RingBuffer<T> {
  readonly capacity: number;
  readonly size: number;
  push(item: T): void;
  /** The items, oldest first (a copy). */
  toArray(): T[];
}

export function createRingBuffer<T>(capacity: number): RingBuffer<T> {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
  const slots: T[] = [];
  // The slot the next push writes, once the buffer is full (until then, pushes append).
  let next = 0;
  return {
    capacity,
    get size() {
      return slots.length;
    },
    push(item) {
      if (slots.length < capacity) {
        slots.push(item);
        return;
      }
      slots[next] = item;
      next = (next + 1) % capacity;
    },
    toArray: () => [...slots.slice(next), ...slots.slice(0, next)],
  };
}
