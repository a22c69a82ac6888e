#!/usr/bin/env python3
"""How late a thread wakes up: it sleeps 1 ms at a time for SECONDS and counts the wake-ups
that came over 1, 5 and 20 ms late, printing each one over 5 ms.

    scripts/hiccups 45                 # as any other process: it waits its turn for a core
    chrt -f 50 scripts/hiccups 45      # real-time priority: only the machine itself delays it

Run beside a benchmark (docs/perf/tickets.md, "Where the open-loop tails come from") to tell
a machine that
stops (the host, the kernel) from processes that wait for each other's cores: under `chrt -f`
the thread runs ahead of every ordinary process, so a late wake-up there is the machine's.
"""

import sys
import time


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    start = time.monotonic()
    end = start + seconds
    wakes = 0
    late_max = 0.0
    over = {1: 0, 5: 0, 20: 0}
    while time.monotonic() < end:
        before = time.monotonic()
        time.sleep(0.001)
        late_ms = (time.monotonic() - before) * 1000.0 - 1.0
        wakes += 1
        late_max = max(late_max, late_ms)
        for limit in over:
            if late_ms > limit:
                over[limit] += 1
        if late_ms > 5:
            print(f"at {(before - start) * 1000:.0f} ms: woke {late_ms:.1f} ms late", flush=True)
    print(
        f"{wakes} wake-ups in {seconds:g} s, the latest {late_max:.2f} ms late; "
        f"over 1 ms: {over[1]}, over 5 ms: {over[5]}, over 20 ms: {over[20]}"
    )


if __name__ == "__main__":
    main()
