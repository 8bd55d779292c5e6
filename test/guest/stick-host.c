/*
 * stick-host: what the real host libraries do with a Neural Compute Stick, in C with libusb,
 * for the Linux guest test (test/guest/linux-guest.test.ts). Runs inside a QEMU guest whose
 * USB device is the emulated stick, reached through usb-redir.
 *
 *   stick-host boot <image.mvcmd>   configuration 1, interface 0, the whole image on bulk OUT 1,
 *                                   then wait for 03e7:f63b
 *   stick-host xlink                XLink ping, a stream echo, then RESET
 *
 * Prints one "ok ..." line per step and exits 0, or "FAIL ..." and exits 1.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libusb-1.0/libusb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VID 0x03e7
#define ROM_PID 0x2485
#define BOOTED_PID 0xf63b
#define NAME 64
#define HEADER (20 + NAME)
#define TIMEOUT_MS 5000

enum { WRITE_REQ = 0, READ_REL_REQ = 2, CREATE_STREAM_REQ = 3, PING_REQ = 5, RESET_REQ = 6,
       WRITE_RESP = 8, READ_REL_RESP = 10, CREATE_STREAM_RESP = 11, PING_RESP = 13, RESET_RESP = 14 };
#define ACK 1

struct header { int32_t id, type; char name[NAME]; uint32_t stream, size, flags; };

static void fail(const char *what, int code) {
    printf("FAIL %s (%s)\n", what, code < 0 ? libusb_error_name(code) : "");
    fflush(stdout);
    exit(1);
}

/* A number from a sysfs attribute file, in the given scanf format ("%x" or "%u"). */
static unsigned read_number(const char *dir, const char *file, const char *format) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    unsigned value = 0;
    if (f) { if (fscanf(f, format, &value) != 1) value = 0; fclose(f); }
    return value;
}

/* The stick, found in sysfs as the kernel sees it, opened through its usbfs node. */
static libusb_device_handle *open_pid(uint16_t pid, int wait_ms) {
    for (int waited = 0; waited <= wait_ms; waited += 100) {
        DIR *dir = opendir("/sys/bus/usb/devices");
        struct dirent *entry;
        while (dir && (entry = readdir(dir))) {
            char path[512];
            snprintf(path, sizeof path, "/sys/bus/usb/devices/%s", entry->d_name);
            if (read_number(path, "idVendor", "%x") != VID || read_number(path, "idProduct", "%x") != pid) continue;
            char node[64];
            snprintf(node, sizeof node, "/dev/bus/usb/%03u/%03u", read_number(path, "busnum", "%u"), read_number(path, "devnum", "%u"));
            int fd = open(node, O_RDWR);
            if (fd < 0) continue;
            libusb_device_handle *h = NULL;
            if (libusb_wrap_sys_device(NULL, fd, &h) == 0) { closedir(dir); return h; }
            close(fd);
        }
        if (dir) closedir(dir);
        usleep(100 * 1000);
    }
    return NULL;
}

static void claim(libusb_device_handle *h) {
    int r = libusb_set_configuration(h, 1);
    if (r < 0) fail("set configuration 1", r);
    r = libusb_claim_interface(h, 0);
    if (r < 0) fail("claim interface 0", r);
}

static void bulk(libusb_device_handle *h, unsigned char ep, void *data, int length, int exact, const char *what) {
    int done = 0;
    int r = libusb_bulk_transfer(h, ep, data, length, &done, TIMEOUT_MS);
    if (r < 0) fail(what, r);
    if (exact && done != length) { printf("FAIL %s: %d of %d bytes\n", what, done, length); exit(1); }
}

static int boot(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) fail("open image", 0);
    static unsigned char image[16 << 20];
    int size = (int)fread(image, 1, sizeof image, f);
    fclose(f);
    libusb_device_handle *h = open_pid(ROM_PID, 10000);
    if (!h) fail("find 03e7:2485", 0);
    claim(h);
    for (int at = 0; at < size; at += 1 << 20) {
        int n = size - at < (1 << 20) ? size - at : (1 << 20);
        bulk(h, 0x01, image + at, n, 1, "bulk OUT of the image");
    }
    printf("ok sent %d bytes\n", size);
    libusb_close(h);
    usleep(200 * 1000); /* the old device node goes away with the re-enumeration */
    h = open_pid(BOOTED_PID, 15000);
    if (!h) fail("find 03e7:f63b after the boot", 0);
    printf("ok 03e7:f63b is back\n");
    libusb_close(h);
    return 0;
}

static int next_id = 1;

static void send_header(libusb_device_handle *h, int type, const char *name, uint32_t stream, uint32_t size, uint32_t flags, int id) {
    struct header m;
    memset(&m, 0, sizeof m);
    m.id = id ? id : next_id++;
    m.type = type;
    strncpy(m.name, name, NAME - 1);
    m.stream = stream;
    m.size = size;
    m.flags = flags;
    bulk(h, 0x01, &m, HEADER, 1, "bulk OUT of a header");
}

static void read_header(libusb_device_handle *h, struct header *m) {
    bulk(h, 0x81, m, HEADER, 1, "bulk IN of a header");
}

static int xlink(void) {
    libusb_device_handle *h = open_pid(BOOTED_PID, 5000);
    if (!h) fail("find 03e7:f63b", 0);
    claim(h);
    struct header m;

    send_header(h, PING_REQ, "", 0, 0, 0, 0);
    read_header(h, &m);
    if (m.type != PING_RESP) fail("ping answered with another type", 0);
    printf("ok ping\n");

    enum { SIZE = 20000 };
    send_header(h, CREATE_STREAM_REQ, "echo", 0xdeaddead, (SIZE + 63) / 64 * 64, 0, 0);
    read_header(h, &m);
    if (m.type != CREATE_STREAM_RESP || !(m.flags & ACK)) fail("create stream", 0);
    uint32_t stream = m.stream;

    static unsigned char out[SIZE], back[SIZE];
    for (int i = 0; i < SIZE; i++) out[i] = (unsigned char)(i * 7 + 3);
    send_header(h, WRITE_REQ, "echo", stream, SIZE, 0, 0);
    bulk(h, 0x01, out, SIZE, 1, "bulk OUT of the payload");
    int written = 0, echoed = 0;
    while (!written || !echoed) {
        read_header(h, &m);
        if (m.type == WRITE_RESP) {
            if (!(m.flags & ACK)) fail("the write was refused", 0);
            written = 1;
        } else if (m.type == READ_REL_REQ) {
            send_header(h, READ_REL_RESP, m.name, m.stream, m.size, ACK, m.id);
        } else if (m.type == WRITE_REQ) {
            if (m.size != SIZE) fail("the echo has another size", 0);
            bulk(h, 0x81, back, SIZE, 1, "bulk IN of the echo");
            send_header(h, WRITE_RESP, m.name, m.stream, m.size, ACK, m.id);
            echoed = 1;
        } else if (m.type == CREATE_STREAM_REQ) {
            /* the device opens its side of the stream to write the echo back */
            send_header(h, CREATE_STREAM_RESP, m.name, m.stream, m.size, ACK, m.id);
        } else if (m.type == READ_REL_RESP) {
            /* an answer to a release */
        } else {
            printf("FAIL unexpected message type %d\n", m.type);
            return 1;
        }
    }
    if (memcmp(out, back, SIZE) != 0) fail("the echo differs from what was sent", 0);
    send_header(h, READ_REL_REQ, "echo", stream, SIZE, 0, 0);
    printf("ok echo of %d bytes\n", SIZE);

    send_header(h, RESET_REQ, "", 0, 0, 0, 0);
    for (;;) {
        read_header(h, &m);
        if (m.type == RESET_RESP) break;
    }
    printf("ok reset answered\n");
    libusb_close(h);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* No discovery: libusb would ask udev, which a static build has not (see udev-stubs.c). */
    libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
    int r = libusb_init(NULL);
    if (r < 0) fail("libusb_init", r);
    if (argc == 3 && strcmp(argv[1], "boot") == 0) return boot(argv[2]);
    if (argc == 2 && strcmp(argv[1], "xlink") == 0) return xlink();
    fprintf(stderr, "usage: stick-host boot <image.mvcmd> | stick-host xlink\n");
    return 2;
}
