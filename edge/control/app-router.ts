/**
 * Which app gets a request: among the apps that routed its method, round robin
 * (several registrar processes can share one engine).
 */

/** Anything that can be routed to. */
export interface RouteTarget {
  readonly id: string;
}

/** Routes per SIP method (upper case). */
export class AppRouter<T extends RouteTarget> {
  private readonly routes = new Map<string, T[]>();
  private readonly next = new Map<string, number>();

  /** `verb` as drachtio-srf sends it (lower case method name). */
  add(target: T, verb: string): void {
    const method = verb.toUpperCase();
    const list = this.routes.get(method) ?? [];
    if (!list.includes(target)) list.push(target);
    this.routes.set(method, list);
  }

  remove(target: T, verb: string): void {
    const method = verb.toUpperCase();
    const list = this.routes.get(method);
    if (!list) return;
    const i = list.indexOf(target);
    if (i !== -1) list.splice(i, 1);
    if (!list.length) this.routes.delete(method);
  }

  /** Forgets every route of a disconnected app. */
  removeTarget(target: T): void {
    for (const method of [...this.routes.keys()]) this.remove(target, method);
  }

  /** The next app for `method`, or undefined when none routed it. */
  pick(method: string): T | undefined {
    const list = this.routes.get(method);
    if (!list || !list.length) return undefined;
    const i = (this.next.get(method) ?? 0) % list.length;
    this.next.set(method, i + 1);
    return list[i];
  }
}
