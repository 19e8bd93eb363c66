/*
 * c-evhttp: the ceiling of evprefork's design, for `make bench`.
 *
 * A plain C prefork server on libevent 2.1's evhttp: one listening socket on
 * 127.0.0.1:PORT shared by WORKERS forked processes, each with its own
 * event_base (epoll changelist on) and evhttp. TCP_NODELAY is set on the
 * listening socket (accepted sockets inherit it) and every connection's
 * bufferevent may write up to 1 MiB at once. No accept mutex: all workers
 * wait on the socket.
 *
 *   GET /fixed          -> 200 "hello world\n" (12 bytes)
 *   GET /static/<name>  -> the file ROOT/static/<name> (evbuffer_add_file)
 *   anything else       -> 404
 *
 * usage: c-evhttp PORT WORKERS ROOT
 * TERM or INT to the parent stops the workers and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "../common/prefork.h"

static const char *root;

static struct bufferevent *make_bev(struct event_base *base, void *arg) {
    (void)arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev) bufferevent_set_max_single_write(bev, 1 << 20);
    return bev;
}

/* The body is already in the request's output buffer. */
static void reply(struct evhttp_request *req, int code, const char *type) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Not Found", NULL);
}

static void handle(struct evhttp_request *req, void *arg) {
    (void)arg;
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (path == NULL) path = "";

    if (strcmp(path, "/fixed") == 0) {
        evbuffer_add(out, "hello world\n", 12);
        reply(req, 200, "text/plain");
        return;
    }
    if (strncmp(path, "/static/", 8) == 0 && strstr(path, "..") == NULL && strchr(path, '%') == NULL) {
        char file[PATH_MAX];
        struct stat st;
        if (snprintf(file, sizeof file, "%s%s", root, path) < (int)sizeof file) {
            int fd = open(file, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                    evbuffer_add_file(out, fd, 0, st.st_size) == 0) {   /* takes fd */
                    reply(req, 200, "application/octet-stream");
                    return;
                }
                close(fd);
            }
        }
    }
    evbuffer_add(out, "not found\n", 10);
    reply(req, 404, "text/plain");
}

static void worker(int fd) {
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    if (http == NULL || evhttp_accept_socket(http, fd) != 0) {
        fprintf(stderr, "c-evhttp: worker %d could not start\n", (int)getpid());
        _exit(1);
    }
    evhttp_set_bevcb(http, make_bev, NULL);
    evhttp_set_gencb(http, handle, NULL);
    event_base_dispatch(base);
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT WORKERS ROOT\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), workers = atoi(argv[2]);
    root = argv[3];
    if (port <= 0 || port > 65535 || workers <= 0 || workers > 256) {
        fprintf(stderr, "c-evhttp: bad PORT or WORKERS\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    int fd = prefork_listen("c-evhttp", port);
    if (fd < 0) return 1;
    char banner[128];
    snprintf(banner, sizeof banner, "c-evhttp: listening on http://127.0.0.1:%d with %d workers", port, workers);
    return prefork_run("c-evhttp", fd, workers, worker, banner);
}
