/* The booted USB identity (myriad-facts.md section 1) and bulk endpoint 1 for XLink. */
#include "firmware.h"

static const uint8_t device_descriptor[18] = {
    18, 1, 0x00, 0x02,      /* USB 2.00: nothing to announce in a BOS descriptor (no LPM) */
    0, 0, 0, 64,            /* class from the interface, EP0 64 bytes */
    0xe7, 0x03, 0x3b, 0xf6, /* 03e7:f63b */
    0x01, 0x00,             /* bcdDevice */
    1, 2, 3, 1,             /* strings: manufacturer, product, serial; one configuration */
};

/* One configuration: interface 0 "Bulk Data" FF/00/00, bulk 0x01/0x81, 0x02/0x82, 0x03/0x83. */
static const uint8_t configuration_descriptor[9 + 9 + 6 * 7] = {
    9, 2, sizeof configuration_descriptor, 0, 1, 1, 0, 0xc0, 50,
    9, 4, 0, 0, 6, 0xff, 0x00, 0x00, 4,
    7, 5, 0x81, 2, 0x00, 0x02, 0,
    7, 5, 0x01, 2, 0x00, 0x02, 0,
    7, 5, 0x82, 2, 0x00, 0x02, 0,
    7, 5, 0x02, 2, 0x00, 0x02, 0,
    7, 5, 0x83, 2, 0x00, 0x02, 0,
    7, 5, 0x03, 2, 0x00, 0x02, 0,
};

static uint8_t strings[5][2 + 2 * 32];
static uint32_t string_table[5][2];
static uint32_t descriptor_table[6];

static void make_string(int index, const char *text) {
  uint8_t *d = strings[index];
  int n = 0;
  while (text[n] && n < 32) {
    d[2 + 2 * n] = (uint8_t)text[n];
    d[3 + 2 * n] = 0;
    n++;
  }
  d[0] = (uint8_t)(2 + 2 * n);
  d[1] = 3;
  string_table[index][0] = (uint32_t)d;
  string_table[index][1] = d[0];
}

void usb_start(void) {
  /* Language 0x0409, then the strings; the serial is the MX ID, by which host libraries such as
   * DepthAI find the booted stick they read it from in the ROM. */
  strings[0][0] = 4;
  strings[0][1] = 3;
  strings[0][2] = 0x09;
  strings[0][3] = 0x04;
  string_table[0][0] = (uint32_t)strings[0];
  string_table[0][1] = 4;
  make_string(1, "Movidius");
  make_string(2, "VSC Loopback Device");
  make_string(3, mx_id());
  make_string(4, "Bulk Data");
  descriptor_table[0] = (uint32_t)device_descriptor;
  descriptor_table[1] = sizeof device_descriptor;
  descriptor_table[2] = (uint32_t)configuration_descriptor;
  descriptor_table[3] = sizeof configuration_descriptor;
  descriptor_table[4] = 5;
  descriptor_table[5] = (uint32_t)string_table;
  UDC_DESC_TABLE = (uint32_t)descriptor_table;
  UDC_IRQ_ENABLE = UDC_IRQ_BUS_RESET | UDC_IRQ_CONFIGURED | UDC_IRQ_OUT_DONE(1) | UDC_IRQ_IN_DONE(1);
  ICB_MASK = 1u << UDC_INTERRUPT_LINE;
  UDC_CONTROL = 1; /* on the bus */
}

void usb_receive(void *buffer, uint32_t size) {
  UDC_EP(1, EP_OUT_ADDR) = (uint32_t)buffer;
  UDC_EP(1, EP_OUT_SIZE) = size;
  UDC_EP(1, EP_OUT_CTRL) = 1;
}

static int sending;

void usb_send(const void *data, uint32_t length) {
  sending = 1;
  UDC_EP(1, EP_IN_ADDR) = (uint32_t)data;
  UDC_EP(1, EP_IN_LEN) = length;
  UDC_EP(1, EP_IN_CTRL) = 1; /* no zero-length packet: XLink hosts read exact sizes */
}

int usb_sending(void) {
  if (sending && (UDC_IRQ_STATUS & UDC_IRQ_IN_DONE(1))) {
    UDC_IRQ_STATUS = UDC_IRQ_IN_DONE(1);
    sending = 0;
  }
  return sending;
}

int usb_poll_received(int *ended) {
  if (!(UDC_IRQ_STATUS & UDC_IRQ_OUT_DONE(1))) return -1;
  UDC_IRQ_STATUS = UDC_IRQ_OUT_DONE(1);
  *ended = (UDC_EP(1, EP_OUT_CTRL) & 2) != 0;
  return (int)UDC_EP(1, EP_OUT_COUNT);
}

int usb_poll_bus_reset(void) {
  uint32_t status = UDC_IRQ_STATUS & (UDC_IRQ_BUS_RESET | UDC_IRQ_CONFIGURED);
  if (!status) return 0;
  UDC_IRQ_STATUS = status;
  return (status & UDC_IRQ_BUS_RESET) != 0;
}
