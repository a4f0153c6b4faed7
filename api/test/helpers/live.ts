import type { Binding, RegistrationStore } from '../../../shared/registration-store';

/** Writes a live registration through the shared store, as the registrar would after a 200 OK to REGISTER. */
export async function registerDevice(store: RegistrationStore, deviceId: string, opts: { ip?: string; port?: number; expiresInMs?: number; contact?: string } = {}): Promise<Binding> {
  const now = Date.now();
  const ip = opts.ip ?? '192.168.1.100';
  const port = opts.port ?? 5060;
  const binding: Binding = {
    id: opts.contact ?? `sip:phone@${ip}:${port}`,
    uri: opts.contact ?? `sip:phone@${ip}:${port}`,
    params: '',
    expiresAt: now + (opts.expiresInMs ?? 3_600_000),
    callId: `call-${deviceId}`,
    cseq: 1,
    sourceAddress: ip,
    sourcePort: port,
    transport: 'udp',
    receivedOn: '127.0.0.1:5060',
    userAgent: 'Yealink SIP-T46S 66.86.0.15',
    registeredAt: now,
  };
  const { version } = await store.load(deviceId);
  const r = await store.commit(deviceId, version, { upserts: [binding], removals: [], source: { ipAddress: ip, port, transport: 'udp', userAgent: binding.userAgent } });
  if (!r.ok) throw new Error('registration conflict');
  return binding;
}
