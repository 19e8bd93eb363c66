/* WebSocket echo throughput for `make bench`: tools/bench/ws_bench.py's
 * `--client raw` mode in C, so that the client costs far less CPU than the
 * server it measures.
 *
 * Opens CONNS connections to URL, spread over PROCS forked processes (each one
 * epoll loop over non-blocking sockets). Each connection does the RFC 6455
 * handshake and checks it (101 and Sec-WebSocket-Accept); at START_AT every
 * connection sends WINDOW copies of one masked text frame (SIZE bytes of 'x',
 * encoded once per process), and every echo must be exactly the server's
 * unmasked frame of the same text (compared byte for byte, in any chunking).
 * After each echo another frame is sent until START_AT + DURATION; then the
 * connection waits for the echoes in flight, sends a close frame (1000) and
 * closes. Any mismatch, EOF or error fails the connection. Prints one JSON
 * object, the same keys as ws_bench.py: round trips, messages per second (one
 * round trip = one message echoed), failures, and the client's CPU seconds.
 *
 *   ws-bench ws://127.0.0.1:8080/ws/echo --conns 64 --duration 10 [--window 8]
 *
 * gcc -O2 -Wall -Wextra -o ws-bench ws_bench.c   (libc only)
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_REPORTED 5
#define ERR_LEN 240
#define HEAD_MAX 16384
#define RBUF_SIZE (256 * 1024)
#define SBUF_MIN (256 * 1024)

#include "../common/ws_accept.h"

static void random_bytes(unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("getrandom");
            exit(2);
        }
        got += (size_t)n;
    }
}

/* ------------------------------------------------------------ helpers */

/* ceil(seconds * 1000) as an int of milliseconds, >= 0 (no libm) */
static int ms_until(double seconds)
{
    if (seconds <= 0) return 0;
    if (seconds > 86400) return 86400 * 1000;
    double ms = seconds * 1000;
    int i = (int)ms;
    return i < ms ? i + 1 : i;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Python-like repr of bytes, for error strings (ASCII only). */
static void repr(char *out, size_t cap, const char *prefix, const unsigned char *s, size_t n)
{
    size_t o = 0;
    o += (size_t)snprintf(out, cap, "%s'", prefix);
    for (size_t i = 0; i < n && o + 6 < cap; i++) {
        unsigned char c = s[i];
        if (c == '\\' || c == '\'') o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
        else if (c == '\n') o += (size_t)snprintf(out + o, cap - o, "\\n");
        else if (c == '\r') o += (size_t)snprintf(out + o, cap - o, "\\r");
        else if (c == '\t') o += (size_t)snprintf(out + o, cap - o, "\\t");
        else if (c < 0x20 || c >= 0x7f) o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else out[o++] = (char)c;
    }
    if (o + 2 <= cap) { out[o++] = '\''; out[o] = 0; }
    else out[cap - 1] = 0;
}

static int py_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

/* ------------------------------------------------------------ one client process */

struct conn {
    int fd;
    int state;              /* 0 handshake, 1 open, 2 done */
    int begun, stopping, want_out;
    long long count;        /* complete echoes */
    long long inflight;     /* echoes still expected once stopping */
    long long pending;      /* whole frames queued, the first one partly sent (out_off) */
    size_t out_off;
    size_t exp_off;         /* position inside the expected echo */
    char accept[29];
    unsigned char *head;    /* handshake answer so far */
    size_t head_len;
    char error[ERR_LEN];
};

struct client {
    const char *host, *port, *netloc, *path;
    int conns, window;
    double start_at, stop_at;
    unsigned char *frame, *expect, *sbuf;
    size_t flen, elen, slen;
    int ep, remaining;
    unsigned char *rbuf;
};

static void close_conn(struct client *cl, struct conn *c)
{
    close(c->fd);
    c->fd = -1;
    c->state = 2;
    free(c->head);
    c->head = NULL;
    cl->remaining--;
}

static void fail(struct client *cl, struct conn *c, const char *fmt, ...)
{
    if (c->state == 2) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    if (!c->error[0]) snprintf(c->error, sizeof c->error, "failed");
    close_conn(cl, c);
}

static void finish(struct client *cl, struct conn *c)
{
    /* a masked close frame with status 1000 (mask 0) */
    static const unsigned char close_frame[] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8};
    (void)!send(c->fd, close_frame, sizeof close_frame, MSG_NOSIGNAL);
    close_conn(cl, c);
}

static void set_out(struct client *cl, struct conn *c, int on)
{
    if (c->want_out == on) return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(cl->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        fail(cl, c, "epoll_ctl: %s", strerror(errno));
        return;
    }
    c->want_out = on;
}

/* Write queued frames from sbuf (the frame repeated), as far as the socket takes them. */
static void flush(struct client *cl, struct conn *c)
{
    while (c->pending > 0) {
        size_t whole = cl->slen / cl->flen;    /* frames in sbuf, at least 1 */
        size_t frames = c->pending < (long long)whole ? (size_t)c->pending : whole;
        size_t len = frames * cl->flen - c->out_off;
        ssize_t n = send(c->fd, cl->sbuf + c->out_off, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) { set_out(cl, c, 1); return; }
            fail(cl, c, "connection lost: %s", strerror(errno));
            return;
        }
        size_t done = c->out_off + (size_t)n;
        c->pending -= (long long)(done / cl->flen);
        c->out_off = done % cl->flen;
    }
    set_out(cl, c, 0);
}

static void send_frames(struct client *cl, struct conn *c, long long k)
{
    c->pending += k;
    if (!c->want_out) flush(cl, c);
}

static void begin(struct client *cl, struct conn *c)
{
    c->begun = 1;
    send_frames(cl, c, cl->window);
}

/* Echoes come back in order, in any chunking: each must be exactly `expect`.
 * Returns the number of echoes completed, or -1 when the connection failed. */
static long long compare(struct client *cl, struct conn *c, const unsigned char *p, size_t n)
{
    long long k = 0;
    size_t i = 0;
    while (i < n) {
        size_t take = cl->elen - c->exp_off;
        if (take > n - i) take = n - i;
        if (memcmp(p + i, cl->expect + c->exp_off, take) != 0) {
            size_t at = i;
            while (p[at] == cl->expect[c->exp_off + (at - i)]) at++;
            char shown[200];
            size_t show = n - at < 40 ? n - at : 40;
            repr(shown, sizeof shown, "b", p + at, show);
            fail(cl, c, "unexpected bytes from the server at byte %zu of echo %lld: %s",
                 c->exp_off + (at - i), c->count + k + 1, shown);
            return -1;
        }
        i += take;
        c->exp_off += take;
        if (c->exp_off == cl->elen) { c->exp_off = 0; k++; }
    }
    return k;
}

/* The handshake answer: returns bytes consumed past the head (>= 0) once
 * checked, -2 when incomplete, -1 on failure. */
static long handshake(struct client *cl, struct conn *c, const unsigned char *p, size_t n)
{
    if (c->head_len + n > HEAD_MAX) {
        fail(cl, c, "bad handshake answer: no end of head in %d bytes", HEAD_MAX);
        return -1;
    }
    size_t old = c->head_len;
    memcpy(c->head + old, p, n);
    c->head_len += n;
    unsigned char *h = c->head;
    size_t end = 0, start = old > 3 ? old - 3 : 0;
    int found = 0;
    for (size_t i = start; i + 4 <= c->head_len; i++)
        if (h[i] == '\r' && h[i + 1] == '\n' && h[i + 2] == '\r' && h[i + 3] == '\n') { end = i; found = 1; break; }
    if (!found) return -2;
    /* status line */
    size_t l0 = 0;
    while (l0 + 1 < end + 2 && !(h[l0] == '\r' && h[l0 + 1] == '\n')) l0++;
    if (l0 > end) l0 = end;
    int ok101 = 0;
    for (size_t i = 0; i + 4 <= l0 + 1; i++) {       /* " 101 " in line + " " */
        if (h[i] == ' ' && h[i + 1] == '1' && h[i + 2] == '0' && h[i + 3] == '1' &&
            (i + 4 == l0 || (i + 4 < l0 && h[i + 4] == ' '))) { ok101 = 1; break; }
    }
    /* header fields: the last Sec-WebSocket-Accept wins */
    const unsigned char *acc = NULL;
    size_t acc_len = 0;
    size_t pos = l0 + 2;
    while (pos < end) {
        size_t le = pos;
        while (le < end && !(h[le] == '\r' && h[le + 1] == '\n')) le++;
        size_t colon = pos;
        while (colon < le && h[colon] != ':') colon++;
        if (colon < le) {
            size_t ns = pos, ne = colon;
            while (ns < ne && py_space(h[ns])) ns++;
            while (ne > ns && py_space(h[ne - 1])) ne--;
            static const char want[] = "sec-websocket-accept";
            if (ne - ns == sizeof want - 1) {
                size_t j = 0;
                while (j < ne - ns && tolower(h[ns + j]) == want[j]) j++;
                if (j == ne - ns) {
                    size_t vs = colon + 1, ve = le;
                    while (vs < ve && py_space(h[vs])) vs++;
                    while (ve > vs && py_space(h[ve - 1])) ve--;
                    acc = h + vs;
                    acc_len = ve - vs;
                }
            }
        }
        pos = le + 2;
    }
    if (!ok101 || !acc || acc_len != 28 || memcmp(acc, c->accept, 28) != 0) {
        char shown[200];
        repr(shown, sizeof shown, "", h, l0 < 120 ? l0 : 120);
        fail(cl, c, "bad handshake answer: %s", shown);
        return -1;
    }
    size_t rest = c->head_len - (end + 4);
    /* rest lies past the new bytes' start: it is p[n - rest .. n] */
    free(c->head);
    c->head = NULL;
    c->state = 1;
    return (long)rest;
}

static void on_echoes(struct client *cl, struct conn *c, long long k)
{
    c->count += k;
    if (c->stopping) {
        c->inflight -= k;
        if (c->inflight <= 0) finish(cl, c);
    } else if (mono() < cl->stop_at) {
        send_frames(cl, c, k);
    } else {
        c->stopping = 1;
        c->inflight = cl->window - k;
        if (c->inflight <= 0) finish(cl, c);
    }
}

static void on_readable(struct client *cl, struct conn *c)
{
    long long k = 0;
    for (;;) {
        ssize_t n = recv(c->fd, cl->rbuf, RBUF_SIZE, 0);
        if (n == 0) { fail(cl, c, "connection lost: EOF"); return; }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            fail(cl, c, "connection lost: %s", strerror(errno));
            return;
        }
        const unsigned char *p = cl->rbuf;
        size_t len = (size_t)n;
        if (c->state == 0) {
            long rest = handshake(cl, c, p, len);
            if (rest == -1) return;
            if (rest == -2) { if ((size_t)n < RBUF_SIZE) break; else continue; }
            p += len - (size_t)rest;
            len = (size_t)rest;
            if (!c->begun && mono() >= cl->start_at) {
                begin(cl, c);
                if (c->state == 2) return;
            }
        }
        long long got = compare(cl, c, p, len);
        if (got < 0) return;
        k += got;
        if ((size_t)n < RBUF_SIZE) break;
    }
    if (k > 0) on_echoes(cl, c, k);
}

static int connect_one(struct client *cl, struct addrinfo *ai, struct conn *c, char *err, size_t errlen)
{
    int fd = -1, e = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) { e = errno; continue; }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        e = errno;
        close(fd);
        fd = -1;
    }
    if (fd < 0) { snprintf(err, errlen, "connect: %s", strerror(e)); return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    unsigned char raw[16], digest[20];
    char key[25], req[1024];
    random_bytes(raw, sizeof raw);
    base64(raw, sizeof raw, key);
    char kg[24 + sizeof GUID];
    snprintf(kg, sizeof kg, "%s%s", key, GUID);
    sha1((const unsigned char *)kg, strlen(kg), digest);
    base64(digest, sizeof digest, c->accept);
    int rl = snprintf(req, sizeof req,
                      "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                      cl->path, cl->netloc, key);
    if (rl < 0 || (size_t)rl >= sizeof req) { snprintf(err, errlen, "connect: request too long"); close(fd); return -1; }
    for (int off = 0; off < rl;) {       /* still blocking: an empty socket takes it */
        ssize_t n = send(fd, req + off, (size_t)(rl - off), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            snprintf(err, errlen, "connect: %s", strerror(errno));
            close(fd);
            return -1;
        }
        off += (int)n;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->fd = fd;
    c->head = malloc(HEAD_MAX);
    if (!c->head) abort();
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static size_t put_len(unsigned char *f, unsigned char mask_bit, size_t n)
{
    f[0] = 0x81;
    if (n < 126) { f[1] = mask_bit | (unsigned char)n; return 2; }
    if (n < 65536) { f[1] = mask_bit | 126; f[2] = (unsigned char)(n >> 8); f[3] = (unsigned char)n; return 4; }
    f[1] = mask_bit | 127;
    for (int i = 0; i < 8; i++) f[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    return 10;
}

/* Runs CONNS connections; writes "round_trips cpu_s n_errors\n" and the errors,
 * one a line, to fd out. */
static void child(struct client *cl, size_t size, int out)
{
    signal(SIGPIPE, SIG_IGN);
    /* the frame: encoded once, with one random mask */
    unsigned char mask[4];
    random_bytes(mask, sizeof mask);
    cl->frame = malloc(size + 14);
    cl->expect = malloc(size + 10);
    if (!cl->frame || !cl->expect) abort();
    size_t h = put_len(cl->frame, 0x80, size);
    memcpy(cl->frame + h, mask, 4);
    for (size_t i = 0; i < size; i++) cl->frame[h + 4 + i] = (unsigned char)('x' ^ mask[i % 4]);
    cl->flen = h + 4 + size;
    h = put_len(cl->expect, 0, size);
    memset(cl->expect + h, 'x', size);
    cl->elen = h + size;
    size_t reps = SBUF_MIN / cl->flen + 1;
    cl->slen = reps * cl->flen;
    cl->sbuf = malloc(cl->slen);
    cl->rbuf = malloc(RBUF_SIZE);
    if (!cl->sbuf || !cl->rbuf) abort();
    for (size_t i = 0; i < reps; i++) memcpy(cl->sbuf + i * cl->flen, cl->frame, cl->flen);

    struct conn *cs = calloc((size_t)cl->conns, sizeof *cs);
    if (!cs) abort();
    char fatal[ERR_LEN] = "";
    cl->ep = epoll_create1(EPOLL_CLOEXEC);
    if (cl->ep < 0) { snprintf(fatal, sizeof fatal, "epoll_create1: %s", strerror(errno)); goto report; }

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(cl->host, cl->port, &hints, &ai);
    if (gai != 0) { snprintf(fatal, sizeof fatal, "connect: %s", gai_strerror(gai)); goto report; }
    for (int i = 0; i < cl->conns; i++) {
        cs[i].fd = -1;
        if (connect_one(cl, ai, &cs[i], fatal, sizeof fatal) < 0) break;   /* as ws_bench.py: one error, no counts */
        cl->remaining++;
    }
    freeaddrinfo(ai);
    if (fatal[0]) goto report;

    double deadline = cl->stop_at + 30;
    int started = 0;
    struct epoll_event evs[256];
    while (cl->remaining > 0) {
        double now = mono();
        if (!started && now >= cl->start_at) {
            started = 1;
            for (int i = 0; i < cl->conns; i++)
                if (cs[i].state == 1 && !cs[i].begun) begin(cl, &cs[i]);
            continue;
        }
        if (now >= deadline) {
            snprintf(fatal, sizeof fatal, "TimeoutError: %d connections unfinished 30 s after the stop",
                     cl->remaining);
            break;
        }
        double until = started || deadline < cl->start_at ? deadline : cl->start_at;
        int n = epoll_wait(cl->ep, evs, 256, ms_until(until - now));
        if (n < 0) {
            if (errno == EINTR) continue;
            snprintf(fatal, sizeof fatal, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->state == 2) continue;
            if (evs[i].events & EPOLLOUT) {
                flush(cl, c);
                if (c->state == 2) continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(cl, c);
        }
    }

report:;
    long long trips = 0;
    int nerr = 0;
    if (!fatal[0]) {
        for (int i = 0; i < cl->conns; i++) {
            if (cs[i].error[0]) nerr++;
            else trips += cs[i].count;
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    FILE *f = fdopen(out, "w");
    if (!f) _exit(3);
    fprintf(f, "%lld %.6f %d\n", trips, cpu, fatal[0] ? 1 : nerr);
    if (fatal[0]) fprintf(f, "%s\n", fatal);
    else
        for (int i = 0; i < cl->conns; i++)
            if (cs[i].error[0]) fprintf(f, "%s\n", cs[i].error);
    fclose(f);
}

/* ------------------------------------------------------------ parent: options, JSON */

/* A float as Python's repr prints it (shortest round trip, ".0" for integers). */
static void put_float(FILE *f, double x)
{
    char buf[64];
    if (x != x) { fputs("NaN", f); return; }
    if (x > 1.7976931348623157e308 || x < -1.7976931348623157e308) { fputs(x > 0 ? "Infinity" : "-Infinity", f); return; }
    int p = 1;
    for (; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    snprintf(buf, sizeof buf, "%.*e", p - 1, x);
    int e = atoi(strchr(buf, 'e') + 1);
    if (x == 0) e = 0;
    if (e >= -4 && e < 16) {
        int dec = p - 1 - e;
        snprintf(buf, sizeof buf, "%.*f", dec > 0 ? dec : 0, x);
        if (!strchr(buf, '.')) strcat(buf, ".0");
    }
    fputs(buf, f);
}

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\r') fputs("\\r", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20 || *p >= 0x7f) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void usage(FILE *f)
{
    fputs("usage: ws-bench URL [--conns N] [--procs P] [--duration S] [--size B] [--window W]\n"
          "                    [--start-at T] [--client raw]\n"
          "WebSocket echo throughput (tools/bench/ws_bench.py --client raw, in C).\n"
          "  URL           ws://HOST:PORT/PATH\n"
          "  --conns N     connections (64)\n"
          "  --procs P     client processes sharing them (2)\n"
          "  --duration S  seconds of load (10.0)\n"
          "  --size B      message size in bytes (text, 64)\n"
          "  --window W    messages in flight per connection (1 = strict round trips)\n"
          "  --start-at T  CLOCK_MONOTONIC second at which the load starts\n"
          "                (default: now + 1.0 + 0.02 * conns)\n"
          "  --client raw  accepted for compatibility with ws_bench.py\n", f);
}

static void die_usage(const char *fmt, const char *arg)
{
    usage(stderr);
    fprintf(stderr, "ws-bench: error: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

static long parse_int(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end) die_usage("argument %s: invalid int value", opt);
    return x;
}

static double parse_float(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end) die_usage("argument %s: invalid float value", opt);
    return x;
}

int main(int argc, char **argv)
{
    static const char *opts[] = {"--conns", "--procs", "--duration", "--size", "--window", "--start-at", "--client"};
    const char *vals[7] = {0};
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            int which = -1, matches = 0;
            for (int j = 0; j < 7; j++) {
                if (strlen(opts[j]) == len && !strncmp(opts[j], a, len)) { which = j; matches = 1; break; }
                if (strlen(opts[j]) > len && !strncmp(opts[j], a, len)) { which = j; matches++; }
            }
            if (matches != 1) die_usage(matches ? "ambiguous option: %s" : "unrecognized argument: %s", a);
            if (eq) vals[which] = eq + 1;
            else if (i + 1 < argc) vals[which] = argv[++i];
            else die_usage("argument %s: expected one argument", opts[which]);
        } else if (!url) {
            url = a;
        } else {
            die_usage("unrecognized argument: %s", a);
        }
    }
    if (!url) die_usage("the following arguments are required: %s", "url");
    long conns = vals[0] ? parse_int("--conns", vals[0]) : 64;
    long procs = vals[1] ? parse_int("--procs", vals[1]) : 2;
    double duration = vals[2] ? parse_float("--duration", vals[2]) : 10.0;
    long size = vals[3] ? parse_int("--size", vals[3]) : 64;
    long window = vals[4] ? parse_int("--window", vals[4]) : 1;
    if (vals[6] && strcmp(vals[6], "raw") != 0)
        die_usage("argument --client: only 'raw' is implemented here, not '%s' (use ws_bench.py)", vals[6]);
    if (conns < 1 || conns > 1000000) die_usage("argument --conns: %s out of range", vals[0]);
    if (procs < 1) die_usage("argument --procs: %s out of range", vals[1]);
    if (!(duration >= 0)) die_usage("argument --duration: %s out of range", vals[2]);
    if (size < 0 || size > (1L << 30)) die_usage("argument --size: %s out of range", vals[3]);
    if (window < 1 || window > 1000000) die_usage("argument --window: %s out of range", vals[4]);

    /* ws://[user@]host[:port]/path?query: Host is the netloc, the path has no query */
    struct client cl = {0};
    const char *s = strstr(url, "://");
    if (!s) die_usage("not a ws:// URL: %s", url);
    s += 3;
    size_t nl = strcspn(s, "/?#");
    char *netloc = strndup(s, nl);
    const char *rest = s + nl;
    char *path = *rest == '/' ? strndup(rest, strcspn(rest, "?#")) : strdup("/");
    const char *hp = strrchr(netloc, '@') ? strrchr(netloc, '@') + 1 : netloc;
    char *host, *port = NULL;
    if (*hp == '[') {
        const char *rb = strchr(hp, ']');
        if (!rb) die_usage("bad host in URL: %s", url);
        host = strndup(hp + 1, (size_t)(rb - hp - 1));
        if (rb[1] == ':' && rb[2]) port = strdup(rb + 2);
    } else {
        const char *colon = strrchr(hp, ':');
        host = colon ? strndup(hp, (size_t)(colon - hp)) : strdup(hp);
        if (colon && colon[1]) port = strdup(colon + 1);
    }
    if (!port) port = strdup("80");
    if (!*host) die_usage("no host in URL: %s", url);
    cl.host = host; cl.port = port; cl.netloc = netloc; cl.path = path;
    cl.window = (int)window;

    if (procs > conns) procs = conns;
    /* Every process connects first; the clock starts for all at once. */
    double start_at = vals[5] ? parse_float("--start-at", vals[5]) : 0;
    if (start_at == 0) start_at = mono() + 1.0 + 0.02 * (double)conns;
    cl.start_at = start_at;
    cl.stop_at = start_at + duration;

    int np = (int)procs;
    pid_t *pids = calloc((size_t)np, sizeof *pids);
    int *fds = calloc((size_t)np, sizeof *fds);
    char **reports = calloc((size_t)np, sizeof *reports);
    size_t *rlen = calloc((size_t)np, sizeof *rlen);
    if (!pids || !fds || !reports || !rlen) abort();
    fflush(stdout);
    for (int i = 0; i < np; i++) {
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0) { perror("pipe"); return 2; }
        cl.conns = (int)(conns / procs + (i < conns % procs ? 1 : 0));
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 2; }
        if (pid == 0) {
            close(pfd[0]);
            for (int j = 0; j < i; j++) close(fds[j]);
            child(&cl, (size_t)size, pfd[1]);
            _exit(0);
        }
        close(pfd[1]);
        pids[i] = pid;
        fds[i] = pfd[0];
    }

    /* collect the reports (as ws_bench.py: up to duration + 90 s) */
    double give_up = mono() + duration + 90;
    if (give_up < start_at + duration + 60) give_up = start_at + duration + 60;
    int open_fds = np;
    struct pollfd *pf = calloc((size_t)np, sizeof *pf);
    if (!pf) abort();
    while (open_fds > 0) {
        int m = 0;
        for (int i = 0; i < np; i++)
            if (fds[i] >= 0) { pf[m].fd = fds[i]; pf[m].events = POLLIN; pf[m].revents = 0; m++; }
        double left = give_up - mono();
        if (left <= 0) break;
        int r = poll(pf, (nfds_t)m, ms_until(left));
        if (r < 0) { if (errno == EINTR) continue; perror("poll"); break; }
        for (int j = 0; j < m; j++) {
            if (!pf[j].revents) continue;
            int i = 0;
            while (fds[i] != pf[j].fd) i++;
            char buf[4096];
            ssize_t n = read(fds[i], buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) { close(fds[i]); fds[i] = -1; open_fds--; continue; }
            reports[i] = realloc(reports[i], rlen[i] + (size_t)n + 1);
            if (!reports[i]) abort();
            memcpy(reports[i] + rlen[i], buf, (size_t)n);
            rlen[i] += (size_t)n;
            reports[i][rlen[i]] = 0;
        }
    }
    for (int i = 0; i < np; i++)
        if (fds[i] >= 0) { kill(pids[i], SIGKILL); close(fds[i]); }
    for (int i = 0; i < np; i++) waitpid(pids[i], NULL, 0);

    long long trips = 0;
    double cpu = 0;
    int nerr = 0;
    char *shown[MAX_REPORTED];
    char synth[MAX_REPORTED][ERR_LEN];
    for (int i = 0; i < np; i++) {
        long long t;
        double c;
        int e, used = 0;
        if (!reports[i] || sscanf(reports[i], "%lld %lf %d%n", &t, &c, &e, &used) != 3) {
            if (nerr < MAX_REPORTED) {
                snprintf(synth[nerr], ERR_LEN, "client process %d: no report", i + 1);
                shown[nerr] = synth[nerr];
            }
            nerr++;
            continue;
        }
        trips += t;
        cpu += c;
        char *line = reports[i] + used;
        if (*line == '\n') line++;
        for (int k = 0; k < e; k++) {
            char *nlp = strchr(line, '\n');
            if (nlp) *nlp = 0;
            if (nerr < MAX_REPORTED) shown[nerr] = line;
            nerr++;
            line = nlp ? nlp + 1 : line + strlen(line);
        }
    }

    printf("{\"url\": ");
    put_string(stdout, url);
    printf(", \"client\": \"raw-c\", \"window\": %ld, \"connections\": %ld, \"client_processes\": %ld, "
           "\"message_bytes\": %ld, \"duration_s\": ", window, conns, procs, size);
    put_float(stdout, duration);
    printf(", \"round_trips\": %lld, \"messages_per_s\": ", trips);
    put_float(stdout, duration > 0 ? (double)trips / duration : 0.0);
    printf(", \"failed_connections\": %d, \"errors\": [", nerr);
    for (int k = 0; k < nerr && k < MAX_REPORTED; k++) {
        if (k) printf(", ");
        put_string(stdout, shown[k]);
    }
    printf("], \"client_cpu_s\": ");
    put_float(stdout, (double)(long long)(cpu * 100 + 0.5) / 100);
    printf("}\n");
    fflush(stdout);
    return nerr ? 1 : 0;
}
