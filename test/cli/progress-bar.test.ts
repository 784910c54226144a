import { Writable } from 'node:stream';
import { createProgressBar } from '../../src/cli/progress-bar.js';
import type { Clock } from '../../src/clock.js';

/** A real Writable that keeps what it is given, with a settable isTTY. */
class CaptureStream extends Writable {
  chunks: string[] = [];
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk.toString());
    cb();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('progress bar on a TTY', () => {
  test('redraws one line in place with bar, percent, counts and rate', () => {
    const stream = new CaptureStream(true);
    const clock = fakeClock();
    const bar = createProgressBar({ total: 10_000, stream, label: 'rebuild', clock });
    clock.advance(340);
    bar.tick(4200);
    expect(stream.chunks).toHaveLength(1);
    const drawn = stream.chunks[0];
    expect(drawn.startsWith('\r')).toBe(true);
    expect(drawn).not.toContain('\n');
    // 4200 items in 0.34 s = 12,353 per second; 42% of a 20-wide bar is 8 hashes.
    expect(drawn).toContain(`rebuild [${'#'.repeat(8)}${'.'.repeat(12)}] 42% 4200/10000 12,353 ev/s`);
  });

  test('redraws at most once per interval (injected clock)', () => {
    const stream = new CaptureStream(true);
    const clock = fakeClock();
    const bar = createProgressBar({ total: 1000, stream, label: 'x', clock });
    bar.tick(); // first tick draws at once
    for (let i = 0; i < 50; i++) {
      clock.advance(10); // 50 ticks over 500 ms
      bar.tick();
    }
    // Draws at t=0, 100, 200, 300, 400, 500 ms.
    expect(stream.chunks).toHaveLength(6);
    expect(stream.chunks[5]).toContain(' 51/1000 ');
    bar.done();
    expect(stream.text.endsWith('\n')).toBe(true);
    expect(stream.chunks.at(-2)).toContain(' 5% 51/1000 ');
  });

  test('done() draws the final state even inside the throttle window; later ticks are ignored', () => {
    const stream = new CaptureStream(true);
    const clock = fakeClock();
    const bar = createProgressBar({ total: 10, stream, label: 'x', clock, width: 10 });
    bar.tick(5);
    clock.advance(1000);
    bar.tick(5); // a redraw at 100%
    bar.tick(0); // within the window: no redraw
    expect(stream.chunks).toHaveLength(2);
    bar.done();
    const lines = stream.text.split('\n');
    expect(lines).toHaveLength(2);
    expect(stream.chunks.at(-2)).toContain('x [##########] 100% 10/10 10 ev/s');
    bar.tick(100);
    bar.done();
    expect(stream.chunks).toHaveLength(4);
  });
});

describe('progress bar without a TTY', () => {
  test('prints one plain line per 10% step, no carriage returns', () => {
    const stream = new CaptureStream(false);
    const clock = fakeClock();
    const bar = createProgressBar({ total: 1000, stream, label: 'rebuild', clock, unit: 'events' });
    for (let i = 0; i < 1000; i++) {
      clock.advance(1);
      bar.tick();
    }
    bar.done();
    const lines = stream.text.trimEnd().split('\n');
    expect(stream.text).not.toContain('\r');
    // 0%, 10%, ..., 100%: eleven lines; done() adds none since 100% was printed.
    expect(lines.map((l) => l.split(' ')[1])).toEqual(
      ['0%', '10%', '20%', '30%', '40%', '50%', '60%', '70%', '80%', '90%', '100%'],
    );
    expect(lines[4]).toBe('rebuild 40% 400/1000 1,000 events/s');
    expect(lines[10]).toBe('rebuild 100% 1000/1000 1,000 events/s');
  });

  test('large ticks that jump several steps print one line; done() reports a short finish', () => {
    const stream = new CaptureStream(false);
    const clock = fakeClock();
    const bar = createProgressBar({ total: 100, stream, label: 'job', clock });
    clock.advance(1000);
    bar.tick(35);
    bar.tick(1); // still in the 30% step
    clock.advance(1000);
    bar.tick(20);
    bar.done(); // finished at 56 of an estimated 100
    expect(stream.text).toBe(
      'job 35% 35/100 35 ev/s\n' + 'job 56% 56/100 28 ev/s\n' + 'job 56% 56/100 28 ev/s\n',
    );
  });

  test('a zero total counts as complete rather than dividing by zero', () => {
    const stream = new CaptureStream(false);
    const bar = createProgressBar({ total: 0, stream, label: 'empty', clock: fakeClock() });
    bar.done();
    expect(stream.text).toBe('empty 100% 0/0 0 ev/s\n');
  });
});
