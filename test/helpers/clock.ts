// A clock a test moves by hand (issue 33): the limits' windows follow it, not the wall clock, so a test of
// "a new minute frees the budget" takes no minute, and a test never straddles a window's end by chance.
// Given to an in-process gateway (startGateway's `clock`); gateways in other processes keep the wall clock.

const MINUTE = 60_000;

export class TestClock {
  /** Mid-minute of a fixed day: far from any window's end. */
  private at = Date.UTC(2026, 5, 15, 12, 0, 30);

  /** The function the gateway reads. */
  readonly now = (): number => this.at;

  /** Moves to the middle of the next minute: every per-minute counter starts again at 0. */
  nextMinute(): void {
    this.at = (Math.floor(this.at / MINUTE) + 1) * MINUTE + MINUTE / 2;
  }

  /** Moves to the middle of the next UTC day: every per-day quota starts again. */
  nextDay(): void {
    const day = 24 * 60 * MINUTE;
    this.at = (Math.floor(this.at / day) + 1) * day + 12 * 60 * MINUTE + MINUTE / 2;
  }
}

/** Waits out the end of a wall-clock minute (`margin` before it), so every request of a test falls in one:
 * for gateways in other processes, whose clock is the wall's. */
export async function freshMinute(margin = 5_000): Promise<void> {
  const left = MINUTE - (Date.now() % MINUTE);
  if (left < margin) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
