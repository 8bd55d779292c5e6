/*
 * stick-host: what the real host libraries do with a Neural Compute Stick, in C with libusb,
 * for the Linux guest test (test/guest/linux-guest.test.ts). Runs inside a QEMU guest whose
 * USB device is the emulated stick, reached through usb-redir.
 *
 *   stick-host boot <image.mvcmd>   configuration 1, interface 0, the whole image on bulk OUT 1,
 *                                   then wait for 03e7:f63b
 *   stick-host xlink                XLink ping, a stream echo, then RESET
 *   stick-host mvnc <graph> <input> <expected>
 *                                   OpenVINO 2021.4's mvnc sequence (myriad-facts.md 4 and 4a):
 *                                   open the device, allocate the graph, two FIFOs, one
 *                                   inference compared byte for byte with <expected>, the
 *                                   timings, deallocation, then RESET
 *
 * Prints one "ok ..." line per step and exits 0, or "FAIL ..." and exits 1.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libusb-1.0/libusb.h>
#include <stdarg.h>
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

enum { WRITE_REQ = 0, READ_REL_REQ = 2, CREATE_STREAM_REQ = 3, CLOSE_STREAM_REQ = 4, PING_REQ = 5, RESET_REQ = 6,
       WRITE_RESP = 8, READ_REL_RESP = 10, CREATE_STREAM_RESP = 11, CLOSE_STREAM_RESP = 12, PING_RESP = 13, RESET_RESP = 14 };
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

static void bulk_within(libusb_device_handle *h, unsigned char ep, void *data, int length, int exact, int timeout_ms, const char *what) {
    int done = 0;
    int r = libusb_bulk_transfer(h, ep, data, length, &done, timeout_ms);
    if (r < 0) fail(what, r);
    if (exact && done != length) { printf("FAIL %s: %d of %d bytes\n", what, done, length); exit(1); }
}

static void bulk(libusb_device_handle *h, unsigned char ep, void *data, int length, int exact, const char *what) {
    bulk_within(h, ep, data, length, exact, TIMEOUT_MS, what);
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

/* ---- mvnc: a small XLink host and OpenVINO 2021.4's graph protocol */

static void failf(const char *format, ...) {
    va_list args;
    va_start(args, format);
    printf("FAIL ");
    vprintf(format, args);
    printf("\n");
    va_end(args);
    fflush(stdout);
    exit(1);
}

/* The device answers a command only after it has run it, and a graph load or an inference
 * takes the emulated stick a while: waits for a message are long, but never endless. */
#define MESSAGE_TIMEOUT_MS 30000
/* Device stream ids count from 0 per link and the firmware has 40 at most. */
#define MAX_STREAMS 64
/* The host library's limit: the device queues no more of one stream's packets. */
#define MAX_UNRELEASED_PACKETS 64

struct packet {
    struct packet *next;
    uint32_t length;
    unsigned char data[];
};

struct stream {
    char name[NAME];
    uint32_t write_size;       /* the device's buffer for our writes, as we declared it */
    uint32_t unreleased_bytes; /* our writes the device has not released yet */
    int unreleased_packets;
    struct packet *first, *last; /* what the device wrote to us, not read yet */
};

static struct stream streams[MAX_STREAMS];

static struct stream *stream_at(uint32_t id) {
    if (id >= MAX_STREAMS) failf("the device named stream %u, past the %d this host keeps", id, MAX_STREAMS);
    return &streams[id];
}

static void put32(unsigned char *at, uint32_t value) {
    for (int i = 0; i < 4; i++) at[i] = (unsigned char)(value >> (8 * i));
}

static uint32_t get32(const unsigned char *at) {
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

/*
 * Reads the device's next message and does what the protocol asks of a host at once: the
 * device's own requests are answered here (a stream it opens, data it writes, credit it gives
 * back), so that whoever waits for something else never leaves the device stuck. Returns the
 * message; answers to our requests are for the caller to match.
 */
static void xl_next(libusb_device_handle *h, struct header *m) {
    bulk_within(h, 0x81, m, HEADER, 1, MESSAGE_TIMEOUT_MS, "bulk IN of a header");
    m->name[NAME - 1] = 0;
    switch (m->type) {
    case CREATE_STREAM_REQ: {
        /* the device's side of a stream: the size is our buffer for its writes, which queue unbounded here */
        struct stream *s = stream_at(m->stream);
        if (!s->name[0]) strcpy(s->name, m->name);
        send_header(h, CREATE_STREAM_RESP, m->name, m->stream, m->size, ACK, m->id);
        return;
    }
    case WRITE_REQ: {
        struct stream *s = stream_at(m->stream);
        struct packet *p = malloc(sizeof *p + m->size);
        if (!p) failf("no memory for a packet of %u bytes", m->size);
        p->next = NULL;
        p->length = m->size;
        if (m->size) bulk_within(h, 0x81, p->data, (int)m->size, 1, MESSAGE_TIMEOUT_MS, "bulk IN of a payload");
        if (s->last) s->last->next = p;
        else s->first = p;
        s->last = p;
        if (!s->name[0]) strcpy(s->name, m->name);
        send_header(h, WRITE_RESP, m->name, m->stream, m->size, ACK, m->id);
        return;
    }
    case READ_REL_REQ: {
        struct stream *s = stream_at(m->stream);
        s->unreleased_bytes -= m->size < s->unreleased_bytes ? m->size : s->unreleased_bytes;
        if (s->unreleased_packets > 0) s->unreleased_packets--;
        send_header(h, READ_REL_RESP, m->name, m->stream, m->size, ACK, m->id);
        return;
    }
    case WRITE_RESP: case READ_REL_RESP: case CREATE_STREAM_RESP: case CLOSE_STREAM_RESP: case PING_RESP: case RESET_RESP:
        return;
    default:
        failf("the device sent message type %d, which no host expects", m->type);
    }
}

/* Sends a request (and its payload) and waits for the answer with its id, serving the device meanwhile. */
static struct header xl_request(libusb_device_handle *h, int type, const char *name, uint32_t stream, uint32_t size, const void *payload) {
    int id = next_id++;
    send_header(h, type, name, stream, size, 0, id);
    if (payload && size) bulk_within(h, 0x01, (void *)payload, (int)size, 1, MESSAGE_TIMEOUT_MS, "bulk OUT of a payload");
    struct header m;
    do xl_next(h, &m);
    while (m.id != id || m.type < WRITE_RESP);
    if (m.type != type + WRITE_RESP) failf("request %d (type %d) was answered with type %d", id, type, m.type);
    return m;
}

static uint32_t xl_open(libusb_device_handle *h, const char *name, uint32_t write_size) {
    uint32_t size = (write_size + 63) / 64 * 64; /* as the host library rounds it */
    struct header m = xl_request(h, CREATE_STREAM_REQ, name, 0xdeaddead, size, NULL);
    if (!(m.flags & ACK)) failf("the device refused stream %s (flags 0x%x)", name, m.flags);
    struct stream *s = stream_at(m.stream);
    strncpy(s->name, name, NAME - 1);
    s->write_size = size;
    s->unreleased_bytes = 0;
    s->unreleased_packets = 0;
    return m.stream;
}

/* Writes one packet once the device has released enough of our earlier ones to take it. */
static void xl_write(libusb_device_handle *h, uint32_t id, const void *data, uint32_t length) {
    struct stream *s = stream_at(id);
    if (length > s->write_size) failf("a packet of %u bytes does not fit stream %s (%u)", length, s->name, s->write_size);
    while (s->unreleased_bytes + length > s->write_size || s->unreleased_packets >= MAX_UNRELEASED_PACKETS) {
        struct header m;
        xl_next(h, &m);
    }
    s->unreleased_bytes += length;
    s->unreleased_packets++;
    struct header m = xl_request(h, WRITE_REQ, s->name, id, length, data);
    if (!(m.flags & ACK)) failf("the device refused a write of %u bytes on %s (flags 0x%x)", length, s->name, m.flags);
}

/* The next packet the device wrote on a stream (the caller frees it); releasing it gives the device its credit back. */
static struct packet *xl_read(libusb_device_handle *h, uint32_t id) {
    struct stream *s = stream_at(id);
    while (!s->first) {
        struct header m;
        xl_next(h, &m);
    }
    struct packet *p = s->first;
    s->first = p->next;
    if (!s->first) s->last = NULL;
    send_header(h, READ_REL_REQ, s->name, id, p->length, 0, 0);
    return p;
}

static void xl_close(libusb_device_handle *h, uint32_t id) {
    struct stream *s = stream_at(id);
    struct header m = xl_request(h, CLOSE_STREAM_REQ, s->name, id, 0, NULL);
    /* every queue is empty by now, so a nack ("closed later") would mean a packet we never saw */
    if (!(m.flags & ACK)) failf("the device did not close stream %s (flags 0x%x)", s->name, m.flags);
    while (s->first) {
        struct packet *p = s->first;
        s->first = p->next;
        free(p);
    }
    memset(s, 0, sizeof *s);
}

/* mvnc's wire structs (ncCommPrivate.h), little-endian; what the host library leaves unset is zero here. */
enum { ALLOCATE = 0, DEALLOCATE = 1, TRIGGER = 2, VERIFY = 3, ALLOCATION_VERIFY = 4, BUFFER_ALLOCATE = 5,
       BUFFER_DEALLOCATE = 6, GET_TIMING = 7 };
enum { CAPABILITIES = 1 };
#define GRAPH_COMMAND_BYTES 84  /* graphCMDCommand_t */
#define BUFFER_COMMAND_BYTES 100 /* bufferAllocateCommand_t */
#define DESCRIPTOR_BYTES 20      /* n, c, w, h, totalSize */
#define CAPABILITIES_BYTES 40
#define HEADER_BYTES 132         /* what VERIFY checks: ElfN_Ehdr and mv_blob_header */
#define PLATFORM_MYRIAD_X 0x2480 /* fw_version[1] that OpenVINO's plugin calls MYRIAD_X */
#define STOP_WORD 0xdead
#define FIFO_ELEMENTS 2          /* the plugin's 2 x executors */

struct descriptor { uint32_t n, c, w, h, total_size; };

static void send_short_command(libusb_device_handle *h, uint32_t stream, uint32_t type, uint32_t arg) {
    unsigned char c[8];
    put32(c, type);
    put32(c + 4, arg);
    xl_write(h, stream, c, sizeof c);
}

static void send_graph_command(libusb_device_handle *h, uint32_t monitor, uint32_t type, uint32_t graph, const char *stream_name, uint32_t in_fifo, uint32_t out_fifo) {
    unsigned char c[GRAPH_COMMAND_BYTES] = {0};
    put32(c, type);
    put32(c + 4, graph);
    strncpy((char *)c + 8, stream_name, 63);
    put32(c + 72, in_fifo);
    put32(c + 76, out_fifo);
    put32(c + 80, 1); /* executors */
    xl_write(h, monitor, c, sizeof c);
}

/* One status packet on graphMonitor: the host library reads its first 4 bytes as an int. */
static void expect_status(libusb_device_handle *h, uint32_t monitor, const char *after) {
    struct packet *p = xl_read(h, monitor);
    if (p->length < 4) failf("%s: a status of %u bytes", after, p->length);
    int32_t status = (int32_t)get32(p->data);
    free(p);
    if (status != 0) failf("%s: the device answered status %d", after, status);
}

static struct descriptor descriptor_of(struct packet *p, const char *which) {
    if (p->length != DESCRIPTOR_BYTES) failf("the %s descriptor is %u bytes, not one of %d", which, p->length, DESCRIPTOR_BYTES);
    struct descriptor d = { get32(p->data), get32(p->data + 4), get32(p->data + 8), get32(p->data + 12), get32(p->data + 16) };
    free(p);
    if (!d.n || !d.c || !d.w || !d.h || !d.total_size) failf("an empty %s descriptor", which);
    return d;
}

static unsigned char *load(const char *path, uint32_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) failf("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(length > 0 ? (size_t)length : 1);
    if (!data || fread(data, 1, (size_t)length, f) != (size_t)length) failf("cannot read %s", path);
    fclose(f);
    *size = (uint32_t)length;
    return data;
}

static void allocate_fifo(libusb_device_handle *h, uint32_t monitor, uint32_t id, const struct descriptor *d, int host_writes) {
    unsigned char c[BUFFER_COMMAND_BYTES] = {0};
    put32(c, BUFFER_ALLOCATE);
    put32(c + 4, id);
    snprintf((char *)c + 8, 64, "FIFO%u", id);
    put32(c + 72, FIFO_ELEMENTS);
    put32(c + 76, d->n);
    put32(c + 80, d->c);
    put32(c + 84, d->w);
    put32(c + 88, d->h);
    put32(c + 92, d->total_size);
    c[96] = host_writes ? 0 : 1; /* readChannel: the host reads */
    c[97] = host_writes ? 1 : 0; /* writeChannel: the host writes */
    xl_write(h, monitor, c, sizeof c);
    expect_status(h, monitor, host_writes ? "BUFFER_ALLOCATE of the input FIFO" : "BUFFER_ALLOCATE of the output FIFO");
}

static int mvnc(const char *graph_path, const char *input_path, const char *expected_path) {
    uint32_t blob_size, input_size, expected_size;
    unsigned char *blob = load(graph_path, &blob_size);
    unsigned char *input = load(input_path, &input_size);
    unsigned char *expected = load(expected_path, &expected_size);
    if (blob_size < HEADER_BYTES) failf("a graph of %u bytes is shorter than its header", blob_size);

    libusb_device_handle *h = open_pid(BOOTED_PID, 5000);
    if (!h) fail("find 03e7:f63b", 0);
    claim(h);
    xl_request(h, PING_REQ, "", 0, 0, NULL);
    printf("ok connected (ping)\n");

    /* ncDeviceOpen */
    uint32_t device_monitor = xl_open(h, "deviceMonitor", 2000);
    send_short_command(h, device_monitor, CAPABILITIES, 0);
    struct packet *caps = xl_read(h, device_monitor);
    if (caps->length != CAPABILITIES_BYTES) failf("CAPABILITIES answered %u bytes, not %d", caps->length, CAPABILITIES_BYTES);
    uint32_t max_memory = get32(caps->data + 8), platform = get32(caps->data + 20);
    printf("ok capabilities: max_graphs %u max_fifos %u max_memory %u max_executors %u fw_version %x.%x.%x.%x\n", get32(caps->data),
           get32(caps->data + 4), max_memory, get32(caps->data + 12), get32(caps->data + 16), platform, get32(caps->data + 24), get32(caps->data + 28));
    free(caps);
    if (platform != PLATFORM_MYRIAD_X) failf("fw_version[1] is 0x%x: the plugin would not know the platform", platform);
    if (blob_size > max_memory) failf("a graph of %u bytes is more than the device's %u", blob_size, max_memory);
    uint32_t graph_monitor = xl_open(h, "graphMonitor", 4096);
    printf("ok device open\n");

    /* ncGraphAllocate, graph id 0 */
    uint32_t graph_buffer = xl_open(h, "graphBuffer0", blob_size);
    send_graph_command(h, graph_monitor, VERIFY, 0, "graphBuffer0", 0, 0);
    xl_write(h, graph_buffer, blob, HEADER_BYTES);
    expect_status(h, graph_monitor, "VERIFY");
    printf("ok graph header verified\n");
    send_graph_command(h, graph_monitor, ALLOCATE, 0, "graphBuffer0", 0, 0);
    xl_write(h, graph_buffer, blob, blob_size);
    /* The device answers these three whether or not it took the graph: the status says which. */
    struct packet *inputs = xl_read(h, graph_buffer), *outputs = xl_read(h, graph_buffer), *count = xl_read(h, graph_buffer);
    expect_status(h, graph_monitor, "ALLOCATE");
    struct descriptor in = descriptor_of(inputs, "input"), out = descriptor_of(outputs, "output");
    if (count->length < 4) failf("nstages in %u bytes", count->length);
    uint32_t stages = get32(count->data);
    free(count);
    printf("ok graph allocated: input n=%u c=%u h=%u w=%u totalSize=%u, output n=%u c=%u h=%u w=%u totalSize=%u, %u stages\n",
           in.n, in.c, in.h, in.w, in.total_size, out.n, out.c, out.h, out.w, out.total_size, stages);
    send_graph_command(h, graph_monitor, ALLOCATION_VERIFY, 0, "graphBuffer0", 0, 0);
    expect_status(h, graph_monitor, "ALLOCATION_VERIFY");
    printf("ok allocation verified\n");

    /* ncFifoAllocate: the stream first, then the command; ids 0 (input) and 1 (output) */
    uint32_t input_fifo = xl_open(h, "FIFO0", in.total_size * FIFO_ELEMENTS);
    allocate_fifo(h, graph_monitor, 0, &in, 1);
    uint32_t output_fifo = xl_open(h, "FIFO1", 8); /* the device opens its own side for the results */
    allocate_fifo(h, graph_monitor, 1, &out, 0);
    printf("ok FIFOs allocated\n");

    /* ncGraphQueueInferenceWithFifoElem, then ncFifoReadElem */
    if (input_size != in.total_size) failf("the input file has %u bytes, the graph takes %u", input_size, in.total_size);
    xl_write(h, input_fifo, input, input_size);
    send_graph_command(h, graph_monitor, TRIGGER, 0, "", 0, 1);
    expect_status(h, graph_monitor, "TRIGGER");
    struct packet *result = xl_read(h, output_fifo);
    if (result->length != expected_size) failf("the output is %u bytes, %u expected", result->length, expected_size);
    for (uint32_t i = 0; i < expected_size; i++)
        if (result->data[i] != expected[i]) failf("output byte %u is 0x%02x, 0x%02x expected", i, result->data[i], expected[i]);
    printf("ok inference matches (%u bytes)\n", result->length);
    free(result);

    /* NC_RO_GRAPH_TIME_TAKEN: a float per stage, the runtime's own time, the whole inference */
    send_short_command(h, graph_monitor, GET_TIMING, 0);
    struct packet *timing = xl_read(h, graph_monitor);
    if (timing->length != 4 * (stages + 2)) failf("timing of %u bytes, not %u", timing->length, 4 * (stages + 2));
    expect_status(h, graph_monitor, "GET_TIMING");
    printf("ok timing");
    for (uint32_t i = 0; i < stages + 2; i++) {
        float ms;
        uint32_t bits = get32(timing->data + 4 * i);
        memcpy(&ms, &bits, sizeof ms);
        printf(" %g", ms);
    }
    printf(" ms\n");
    free(timing);

    /* ncFifoDestroy (input, then output), ncGraphDestroy, ncDeviceClose */
    unsigned char stop[4];
    put32(stop, STOP_WORD);
    xl_write(h, input_fifo, stop, sizeof stop);
    send_short_command(h, graph_monitor, BUFFER_DEALLOCATE, 0);
    expect_status(h, graph_monitor, "BUFFER_DEALLOCATE of the input FIFO");
    xl_close(h, input_fifo);
    send_short_command(h, graph_monitor, BUFFER_DEALLOCATE, 1);
    expect_status(h, graph_monitor, "BUFFER_DEALLOCATE of the output FIFO");
    xl_close(h, output_fifo);
    printf("ok FIFOs deallocated\n");
    send_graph_command(h, graph_monitor, DEALLOCATE, 0, "", 0, 0);
    expect_status(h, graph_monitor, "DEALLOCATE");
    xl_close(h, graph_buffer);
    printf("ok graph deallocated\n");
    xl_close(h, device_monitor);
    xl_close(h, graph_monitor);
    xl_request(h, RESET_REQ, "", 0, 0, NULL);
    printf("ok reset answered\n");
    libusb_close(h);
    free(blob);
    free(input);
    free(expected);
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
    if (argc == 5 && strcmp(argv[1], "mvnc") == 0) return mvnc(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: stick-host boot <image.mvcmd> | stick-host xlink | stick-host mvnc <graph> <input> <expected>\n");
    return 2;
}
