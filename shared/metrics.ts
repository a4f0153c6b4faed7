import { Gauge, Registry } from 'prom-client';

/**
 * Registers on `registry` a gauge read when scraped. A failing read leaves the
 * gauge without a value for that scrape instead of failing the whole scrape.
 */
export function addScrapeGauge(registry: Registry, name: string, help: string, read: () => Promise<number>): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        this.set(await read());
      } catch {
        // left without a value this time
      }
    },
  });
}
