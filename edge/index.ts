/** Public interface of the edge: start it, read where it listens, stop it. */
export { startEdge } from './edge';
export type { Edge, EdgeAddresses } from './edge';
export type { ControlSocket } from './control/app-session';
export { DEFAULT_LIMITS } from './options';
export type { EdgeLimits, EdgeOptions, TlsMaterial } from './options';
