/* The open VSC firmware for the emulated Neural Compute Sticks. */
#include "firmware.h"

void xlink_watchdog_arm(void);

int main(void) {
  console_put("vsc: open firmware for the Myriad emulator\n");
  console_line("vsc: chip id high", CPR_CHIP_ID_HIGH);
  console_line("vsc: chip id low", CPR_CHIP_ID_LOW);
  xlink_reset_state();
  if (WATCHDOG_FLAG) {
    console_put("vsc: watchdog armed (the host must ping)\n");
    xlink_watchdog_arm();
  }
  usb_start();
  for (;;) {
    if (usb_poll_bus_reset()) xlink_reset_state();
    xlink_poll();
    idle();
  }
}
