import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

// No Docker engine runs here: docker-compose.yml is checked as data. It must parse (anchors and
// merges resolved as Compose does), and hold what production needs (docs/operations.md).

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  restart?: string;
  healthcheck?: { test?: string[] };
  ports?: string[];
  volumes?: string[];
  deploy?: { replicas?: number };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

const file = readFileSync(join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8');
const doc = parse(file, { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = doc.services;
const ONE_SHOT = new Set(['migrate']);

describe('docker-compose.yml', () => {
  it('parses and names the services of the stack', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'drachtio', 'migrate', 'postgres', 'provisioning', 'redis', 'registrar']);
  });

  it('pins every image to a tested release (no latest): drachtio-server 0.9.x, Redis 7.x, PostgreSQL 16.x', () => {
    expect(services.drachtio!.image).toMatch(/^drachtio\/drachtio-server:0\.9\.\d+$/);
    expect(services.redis!.image).toMatch(/^redis:7\.\d+\.\d+$/);
    expect(services.postgres!.image).toMatch(/^postgres:16\.\d+$/);
    for (const [name, s] of Object.entries(services)) {
      expect([name, s.image]).not.toEqual([name, expect.stringMatching(/:latest$|^[^:]+$/)]);
    }
  });

  it('gives every long-running service a restart policy and a health check; the one-shot job neither', () => {
    for (const [name, s] of Object.entries(services)) {
      if (ONE_SHOT.has(name)) {
        expect([name, s.restart, s.healthcheck]).toEqual([name, 'no', undefined]);
        continue;
      }
      expect([name, s.restart]).toEqual([name, 'unless-stopped']);
      expect([name, Array.isArray(s.healthcheck?.test) && s.healthcheck!.test!.length > 1]).toEqual([name, true]);
    }
  });

  it('keeps Redis with AOF, fsync every second, on a volume', () => {
    const cmd = services.redis!.command!;
    const flag = (f: string): string | undefined => cmd[cmd.indexOf(f) + 1];
    expect([flag('--appendonly'), flag('--appendfsync')]).toEqual(['yes', 'everysec']);
    expect(services.redis!.volumes).toContain('redisdata:/data');
    expect(Object.keys(doc.volumes)).toEqual(expect.arrayContaining(['redisdata', 'pgdata']));
  });

  it('publishes SIP on UDP/TCP 5060 and TLS 5061, the certificate coming from a read-only volume', () => {
    const d = services.drachtio!;
    expect(d.ports).toEqual(expect.arrayContaining(['5060:5060/udp', '5060:5060/tcp', '5061:5061/tcp']));
    const cmd = d.command!;
    expect(cmd).toContain('sips:*:5061;transport=tls');
    const cert = cmd[cmd.indexOf('--cert-file') + 1]!;
    const key = cmd[cmd.indexOf('--key-file') + 1]!;
    const mount = d.volumes!.find((v) => v.endsWith(':/certs:ro'));
    expect(mount).toBeDefined();
    expect([cert.startsWith('/certs/'), key.startsWith('/certs/')]).toEqual([true, true]);
    expect(cmd[cmd.indexOf('--min-tls-version') + 1]).toBe('1.2');
  });

  it('runs two registrars, and starts the apps only after the migrations and healthy services', () => {
    expect(services.registrar!.deploy?.replicas).toBe(2);
    for (const name of ['api', 'registrar', 'provisioning']) {
      expect(services[name]!.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
      expect(services[name]!.depends_on?.redis).toEqual({ condition: 'service_healthy' });
    }
    expect(services.migrate!.depends_on?.postgres).toEqual({ condition: 'service_healthy' });
  });

  it('requires every production secret from the environment (no default for them)', () => {
    const env = services.api!.environment!;
    for (const secret of ['DRACHTIO_SECRET', 'CREDENTIAL_KEYS', 'REGISTRAR_NONCE_SECRET', 'API_STREAM_TOKEN_SECRET', 'PROVISIONING_NONCE_SECRET']) {
      expect([secret, env[secret]]).toEqual([secret, `\${${secret}:?set ${secret}}`]);
    }
    // The same environment for every Node part.
    for (const name of ['registrar', 'provisioning', 'migrate']) expect(services[name]!.environment).toEqual(env);
  });
});
