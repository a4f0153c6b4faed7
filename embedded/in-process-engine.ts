/**
 * The registrar's engine connection to an edge in the same process: each (re)connection is a
 * new socket pair whose engine side the edge takes as it would a connection on its control
 * listener (authenticate, route, sip frames: the same drachtio protocol, the same code paths).
 */
import type { Edge } from '../edge/index';
import type { EngineConnection } from '../registrar/index';
import { socketPair } from './socket-pair';

export function inProcessEngine(edge: Edge, secret: string): EngineConnection {
  return {
    host: 'in-process',
    port: edge.addresses.control.port,
    secret,
    createSocket: () => {
      const [app, engineSide] = socketPair();
      edge.acceptApp(engineSide);
      return app;
    },
  };
}
