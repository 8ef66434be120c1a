/**
 * How one plugin's places (running and queued calls) are shared between its callers: each site's
 * pages, and the user's own callers (`undefined`). A fixed share per site let a few sites (several
 * registrable domains of one owner, in frames or tabs) fill every place together and hold every
 * other site's calls behind theirs. Here a caller holding fewer places than another can take one
 * from it when all are taken, and waiting calls run by turns of their callers, not by arrival.
 */

/** A site's registrable domain, or undefined for the user's own callers. */
export type Caller = string | undefined;

export interface SharedCall {
  site: Caller;
  /** Answered already, though its place may not be free yet. */
  settled: boolean;
}

/** Each caller's calls, queued or running (settled ones hold nothing). */
export function callsByCaller(calls: Iterable<SharedCall>): Map<Caller, number> {
  const counts = new Map<Caller, number>();
  for (const call of calls) if (!call.settled) counts.set(call.site, (counts.get(call.site) ?? 0) + 1);
  return counts;
}

/**
 * With every place taken, the waiting call that gives way to one from `caller`: the newest of the
 * caller holding most, when that caller holds at least two more than `caller` (then the two never
 * take a place back and forth). Undefined when none should. A page's call never takes one of the
 * user's own: a site could otherwise end the user's work by calling. Running calls are never taken,
 * so as many sites as there are places, one call each, still fill them.
 */
export function callToDisplace<T extends SharedCall>(queue: readonly T[], counts: ReadonlyMap<Caller, number>, caller: Caller): T | undefined {
  let chosen: T | undefined;
  let most = (counts.get(caller) ?? 0) + 1;
  for (let index = queue.length - 1; index >= 0; index -= 1) {
    const call = queue[index]!;
    if (call.site === undefined && caller !== undefined) continue;
    const held = counts.get(call.site) ?? 0;
    if (held > most) [chosen, most] = [call, held];
  }
  return chosen;
}

/** Callers remembered at most: past this, those with nothing waiting are forgotten (their next call counts as a new caller's). */
const REMEMBERED_CALLERS = 256;

/**
 * Round robin over callers: the next call to run is the oldest waiting one of the caller served
 * longest ago, so a caller's backlog waits its turn instead of holding everyone's. A caller not
 * served yet counts from when it came: counted as never served, new site names (free to a page's
 * owner, `*.github.io`) went ahead of a site that had waited, for ever once names were forgotten.
 */
export class CallerTurns {
  private readonly lastServed = new Map<Caller, number>();
  private turn = 0;

  /** A call of `caller` joined `queue`: a caller not known yet counts as served now. */
  arrived(caller: Caller, queue: readonly SharedCall[]): void {
    if (this.lastServed.has(caller)) return;
    this.lastServed.set(caller, this.turn);
    this.forgetIdle(queue, caller);
  }

  /** Index in `queue` of the call to run next (queue not empty). */
  next(queue: readonly SharedCall[]): number {
    let best = 0;
    let oldestTurn = Infinity;
    for (let index = 0; index < queue.length; index += 1) {
      const served = this.lastServed.get(queue[index]!.site) ?? this.turn;
      if (served < oldestTurn) [best, oldestTurn] = [index, served];
    }
    return best;
  }

  served(caller: Caller, queue: readonly SharedCall[]): void {
    this.turn += 1;
    this.lastServed.set(caller, this.turn);
    this.forgetIdle(queue, caller);
  }

  private forgetIdle(queue: readonly SharedCall[], caller: Caller): void {
    if (this.lastServed.size <= REMEMBERED_CALLERS) return;
    const waiting = new Set(queue.map((call) => call.site));
    for (const known of this.lastServed.keys()) if (!waiting.has(known) && known !== caller) this.lastServed.delete(known);
  }
}
