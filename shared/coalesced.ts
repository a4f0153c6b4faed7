/**
 * A task run at most once at a time: asking while it runs makes it run once more
 * right after, however often it was asked. For readers woken by notifications
 * and timers alike (event streams, webhook dispatch). Failures go to `onError`;
 * the next call tries again.
 */
export function coalesced(task: () => Promise<void>, onError: (err: Error) => void): () => void {
  let running = false;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    task()
      .catch(onError)
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      });
  };
  return run;
}
