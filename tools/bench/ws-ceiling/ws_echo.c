/*
 * ws-ceiling: the fastest WebSocket echo this machine runs, for `make bench`.
 *
 * A plain C prefork echo server with nothing above the system calls: one
 * listening socket on 127.0.0.1:PORT shared by WORKERS forked processes, each
 * with its own epoll loop (the socket added with EPOLLEXCLUSIVE). It reads
 * the opening handshake, answers 101 with Sec-WebSocket-Accept, then sends
 * every data frame back unmasked; a ping gets a pong, a Close gets a Close.
 * What came in one read is answered in one write. It checks nothing a real
 * server must (UTF-8, lengths, fragmentation rules, limits): it is the
 * ceiling of the WebSocket scenario, as c-evhttp is of the HTTP ones, not a
 * server to compare features with.
 *
 * usage: ws-ceiling PORT WORKERS
 * TERM or INT to the parent stops the workers and exits 0.
 */
#define _GNU_SOURCE  /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUF (256 * 1024)

#include "../common/prefork.h"
#include "../common/ws_accept.h"

/* ---------------------------------------------------------------- connections */

struct conn {
    int fd;
    int open;              /* handshake done */
    size_t in_len;
    unsigned char in[BUF];
};

static unsigned char out[2 * BUF];

/* Writes all of `n` bytes; the socket is blocking for this (an echo of what
 * the client sent fits its buffers in this load), so no EPOLLOUT state. */
static int send_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            fd_set w;
            FD_ZERO(&w);
            FD_SET(fd, &w);
            select(fd + 1, NULL, &w, NULL, NULL);
            continue;
        }
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int handshake(struct conn *c) {
    c->in[c->in_len] = 0;
    char *end = strstr((char *)c->in, "\r\n\r\n");
    if (!end) return c->in_len < BUF - 1 ? 0 : -1;
    char *key = NULL;
    for (char *line = strstr((char *)c->in, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Sec-WebSocket-Key:", 18) == 0) { key = line + 20; break; }
    }
    if (!key) return -1;
    while (*key == ' ') key++;
    size_t klen = strcspn(key, " \r");
    char material[128];
    if (klen > 60) return -1;
    memcpy(material, key, klen);
    memcpy(material + klen, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
    unsigned char digest[20];
    sha1((unsigned char *)material, klen + 36, digest);
    char accept[32];
    base64(digest, 20, accept);
    char reply[256];
    int n = snprintf(reply, sizeof reply, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    if (send_all(c->fd, (unsigned char *)reply, (size_t)n) < 0) return -1;
    size_t used = (size_t)(end + 4 - (char *)c->in);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    c->open = 1;
    return 1;
}

/* Echoes every whole frame in the buffer with one write; -1 ends the connection. */
static int echo(struct conn *c) {
    size_t pos = 0, o = 0;
    int closing = 0;
    while (c->in_len - pos >= 2) {
        unsigned char *f = c->in + pos;
        size_t have = c->in_len - pos, head = 2, len = f[1] & 0x7F;
        if (len == 126) {
            if (have < 4) break;
            len = (size_t)f[2] << 8 | f[3];
            head = 4;
        } else if (len == 127) {
            if (have < 10) break;
            len = 0;
            for (int i = 2; i < 10; i++) len = len << 8 | f[i];
            head = 10;
        }
        int masked = f[1] & 0x80;
        if (masked) head += 4;
        if (len > BUF - 16) return -1;
        if (have < head + len) break;
        unsigned char *payload = f + head;
        if (masked)
            for (size_t i = 0; i < len; i++) payload[i] ^= f[head - 4 + (i & 3)];
        unsigned char op = f[0] & 0x0F;
        if (op == 0x9) op = 0xA;
        if (op != 0xA || (f[0] & 0x0F) == 0x9) {
            if (o + len + 10 > sizeof out) {
                if (send_all(c->fd, out, o) < 0) return -1;
                o = 0;
            }
            out[o++] = 0x80 | op;
            if (len < 126) out[o++] = (unsigned char)len;
            else if (len <= 0xFFFF) { out[o++] = 126; out[o++] = (unsigned char)(len >> 8); out[o++] = (unsigned char)len; }
            else { out[o++] = 127; for (int i = 7; i >= 0; i--) out[o++] = (unsigned char)((uint64_t)len >> (8 * i)); }
            memcpy(out + o, payload, len);
            o += len;
        }
        pos += head + len;
        if (op == 0x8) { closing = 1; break; }
    }
    if (o > 0 && send_all(c->fd, out, o) < 0) return -1;
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    return closing ? -1 : 0;
}

static void worker(int lfd) {
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
        perror("ws-ceiling: epoll");
        _exit(1);
    }
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) _exit(1);
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct conn *nc = calloc(1, sizeof *nc);
                    if (!nc) { close(fd); continue; }
                    nc->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            ssize_t k = recv(c->fd, c->in + c->in_len, BUF - 1 - c->in_len, 0);
            int rc = -1;
            if (k > 0) {
                c->in_len += (size_t)k;
                rc = 0;
                if (!c->open) rc = handshake(c) < 0 ? -1 : 0;
                if (rc == 0 && c->open) rc = echo(c);
            } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
                rc = 0;
            }
            if (rc < 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                free(c);
            }
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: ws-ceiling PORT WORKERS\n");
        return 2;
    }
    int port = atoi(argv[1]), workers = atoi(argv[2]);
    if (workers < 1 || workers > 256) workers = 2;
    int fd = prefork_listen("ws-ceiling", port);
    if (fd < 0) return 1;
    char banner[128];
    snprintf(banner, sizeof banner, "ws-ceiling: listening on ws://127.0.0.1:%d with %d workers", port, workers);
    return prefork_run("ws-ceiling", fd, workers, worker, banner);
}
