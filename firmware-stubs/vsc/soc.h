/* The SoC as the open firmware sees it: addresses from the emulator's model files. */
#ifndef SOC_H
#define SOC_H
#include <stdint.h>

#define REG(addr) (*(volatile uint32_t *)(addr))

#if defined(MA2450)
#define CPR_BASE 0x10f00000u
#define TIM0_BASE 0x10f20000u
#define SHAVE_BASE 0x20f00000u
#define SHAVE_COUNT 12u
#define CMX_END 0x70200000u /* 16 slices of 128 KB */
#define CLOCK_HZ 600000000u
#else
#define CPR_BASE 0x20300000u
#define TIM0_BASE 0x20320000u
#define SHAVE_BASE 0x20600000u
#define SHAVE_COUNT 16u
#define CMX_END 0x70280000u /* 20 slices of 128 KB */
#define CLOCK_HZ 700000000u
#endif
/* CMX: the firmware (code, data, stack) below 0x70040000 (layout.json), then each SHAVE's
 * scratch, 128 KB each: what a graph's stages may ask for (its header's cmx word). */
#define SHAVE_SCRATCH_BASE 0x70040000u
#define SHAVE_SCRATCH_BYTES 0x20000u
_Static_assert(SHAVE_SCRATCH_BASE + SHAVE_COUNT * SHAVE_SCRATCH_BYTES <= CMX_END, "SHAVE scratch fits in CMX");
/* The emulator's own devices (docs/soc-devices.md): the same on both chips. */
#define UDC_BASE 0x20400000u
#define ICB_BASE 0x20410000u
#define UART_BASE 0x20420000u

/* The CPR's fuse-read port (myriad-facts.md section 2, docs/soc-devices.md): enable, then each
 * command waits until (STATUS & (ENABLE & 3)) == 0; commands 8, 9, 0xA put the id's words 0-2
 * on DATA; writing 0 to ENABLE ends the session. The same offsets on both chips. */
#define CPR_FUSE_ENABLE REG(CPR_BASE + 0x164)
#define CPR_FUSE_COMMAND REG(CPR_BASE + 0x168)
#define CPR_FUSE_STATUS REG(CPR_BASE + 0x16c)
#define CPR_FUSE_DATA REG(CPR_BASE + 0x170)
#define FUSE_READ_WORD0 0x8u
#define MX_ID_DIGITS 18 /* 72 bits as hex, as host libraries print it */

#define TIM0_FREE_LOW REG(TIM0_BASE + 0x00)
#define TIM0_FREE_HIGH REG(TIM0_BASE + 0x04)
#define TIM0_WATCHDOG_COUNT REG(TIM0_BASE + 0x9c)
#define TIM0_WATCHDOG_ENABLE REG(TIM0_BASE + 0xa4)
#define TIM0_SAFE_KEY REG(TIM0_BASE + 0xa8)
#define SAFE_KEY 0xf1d0deadu

#define ICB_PENDING REG(ICB_BASE + 0x00)
#define ICB_MASK REG(ICB_BASE + 0x04)
#define UDC_INTERRUPT_LINE 1
#define SHAVE_INTERRUPT_LINE 2

#define UART_TX REG(UART_BASE + 0x00)

#define UDC_ID REG(UDC_BASE + 0x000)
#define UDC_CONTROL REG(UDC_BASE + 0x004)
#define UDC_STATUS REG(UDC_BASE + 0x008)
#define UDC_IRQ_STATUS REG(UDC_BASE + 0x00c)
#define UDC_IRQ_ENABLE REG(UDC_BASE + 0x010)
#define UDC_DESC_TABLE REG(UDC_BASE + 0x014)
#define UDC_EP(n, reg) REG(UDC_BASE + 0x100 + 0x20 * ((n) - 1) + (reg))
#define EP_OUT_ADDR 0x00
#define EP_OUT_SIZE 0x04
#define EP_OUT_CTRL 0x08
#define EP_OUT_COUNT 0x0c
#define EP_IN_ADDR 0x10
#define EP_IN_LEN 0x14
#define EP_IN_CTRL 0x18
#define UDC_IRQ_BUS_RESET (1u << 0)
#define UDC_IRQ_CONFIGURED (1u << 1)
#define UDC_IRQ_OUT_DONE(n) (1u << (8 + (n)))
#define UDC_IRQ_IN_DONE(n) (1u << (16 + (n)))

/* OpenVINO patches a watchdog flag byte here into its images (myriad-facts.md section 2). */
#define WATCHDOG_FLAG (*(volatile uint8_t *)0x80200000u)

void idle(void);
void halt(void) __attribute__((noreturn));
/* console.c: the stick's MX ID through the fuse port, as MX_ID_DIGITS upper-case hex digits and
 * a NUL (read once, then kept); and TIM0's free-running counter as seconds and nanoseconds. */
const char *mx_id(void);
void clock_now(uint32_t *seconds_low, uint32_t *seconds_high, uint32_t *nanoseconds);
#endif
