// The subset of autocannon's API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  function autocannon(opts: autocannon.Options): Promise<autocannon.Result>;
  namespace autocannon {
    interface Histogram {
      average: number;
      mean: number;
      p50: number;
      p90: number;
      p97_5: number;
      p99: number;
      max: number;
    }
    interface Result {
      requests: Histogram & { total: number };
      latency: Histogram;
      non2xx: number;
      errors: number;
      timeouts: number;
      duration: number;
    }
    interface RawRequest {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
    }
    interface Options {
      url: string;
      connections?: number;
      duration?: number;
      pipelining?: number;
      overallRate?: number;
      headers?: Record<string, string>;
      requests?: { method?: string; path?: string; setupRequest?: (req: RawRequest) => RawRequest }[];
    }
  }
  export = autocannon;
}
