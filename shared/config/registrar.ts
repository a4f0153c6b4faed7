import { defineSection, port, str } from './env';

/** The registrar (registrar/). */
export const registrarSection = defineSection('Registrar', {
  REGISTRAR_HTTP_HOST: { schema: str, default: '127.0.0.1', doc: 'Address of the registrar health and metrics HTTP server.' },
  REGISTRAR_HTTP_PORT: { schema: port, default: '9091', doc: 'Port of the registrar health and metrics HTTP server.' },
});
