// Test order: the files that put 500–1,000 REGISTERs/s through child registrars and the
// in-process edge run first, while the jest process is young. The suite runs in one process
// (2 cores: one worker), whose heap grows to over 1 GB by the end; late in the run, garbage
// collection pauses stalled the edge and the phones of those tests. The rest keep jest's order.
const Sequencer = require('@jest/test-sequencer').default;

const FIRST = ['rolling-restart.test.ts', 'scale-out.test.ts', 'persistence.test.ts', 'overload.test.ts'];

class LoadTestsFirst extends Sequencer {
  sort(tests) {
    const rank = (t) => {
      const i = FIRST.findIndex((name) => t.path.endsWith(name));
      return i === -1 ? FIRST.length : i;
    };
    const rest = super.sort(tests.filter((t) => rank(t) === FIRST.length));
    const first = tests.filter((t) => rank(t) < FIRST.length).sort((a, b) => rank(a) - rank(b));
    return Promise.resolve(rest).then((r) => [...first, ...r]);
  }
}

module.exports = LoadTestsFirst;
