/* The open VSC firmware for the emulated Neural Compute Sticks. */
#include "firmware.h"

int main(void) {
  console_put("vsc: open firmware for the Myriad emulator\n");
  console_put("vsc: mx id ");
  console_put(mx_id());
  console_put("\n");
  xlink_reset_state();
  if (WATCHDOG_FLAG) {
    console_put("vsc: watchdog armed (the host must ping)\n");
    watchdog_arm();
  }
  usb_start();
  ICB_MASK |= 1u << SHAVE_INTERRUPT_LINE;
  for (;;) {
    if (usb_poll_bus_reset()) xlink_reset_state();
    xlink_poll();
    service_poll();
    xlink_poll(); /* what the services queued goes out before we sleep: nothing else would wake us */
    idle();
  }
}
