import { z } from 'zod';
import { defineSection, port, str } from './env';

/** The device management API (api/). */
export const apiSection = defineSection('API', {
  API_HOST: { schema: str, default: '0.0.0.0', doc: 'Address the API listens on.' },
  API_PORT: { schema: port, default: '3000', doc: 'API HTTP port.' },
  ADMIN_API_KEY: { schema: z.string().min(24, 'must be at least 24 characters'), secret: true, doc: 'When set, a valid platform-wide operator key (for scripts driving a fresh stack).' },
});
