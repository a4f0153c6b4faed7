/** A benchmark's setting from its environment: the value, else `fallback`; throws when neither is there. */
export function env(name: string, fallback?: string): string {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
}
