/*
 * The listening socket and the parent of the bench's C prefork servers
 * (c-evhttp, ws-ceiling): one socket on 127.0.0.1:PORT with TCP_NODELAY
 * (accepted sockets inherit it), WORKERS forked processes serving it, and a
 * parent that waits for TERM or INT, then stops them and exits 0.
 * Header-only: each server is a single-file program built with one gcc line.
 */
#ifndef BENCH_PREFORK_H
#define BENCH_PREFORK_H
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A non-blocking listening socket on 127.0.0.1:port, or -1 (the reason printed). */
static int prefork_listen(const char *name, int port) {
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 1024) != 0) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d: %s\n", name, port, strerror(errno));
        return -1;
    }
    return fd;
}

/* Forks `workers` processes running worker(fd) (which never returns), prints
 * `banner`, and waits: returns 0 after TERM or INT (the workers stopped), 1
 * when every worker died or a fork failed. */
static int prefork_run(const char *name, int fd, int workers, void (*worker)(int), const char *banner) {
    /* Signals the parent waits for; blocked before forking, unblocked in workers. */
    sigset_t set, none;
    sigemptyset(&set);
    sigemptyset(&none);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);

    pid_t pids[256];
    for (int i = 0; i < workers; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            fprintf(stderr, "%s: fork: %s\n", name, strerror(errno));
            return 1;
        }
        if (pids[i] == 0) {
            sigprocmask(SIG_SETMASK, &none, NULL);
            worker(fd);
        }
    }
    printf("%s\n", banner);
    fflush(stdout);

    int alive = workers;
    for (;;) {
        int sig = 0;
        sigwait(&set, &sig);
        if (sig != SIGCHLD) break;
        pid_t pid;
        while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
            for (int i = 0; i < workers; i++)
                if (pids[i] == pid) pids[i] = 0;
            alive--;
        }
        if (alive <= 0) {
            fprintf(stderr, "%s: every worker died\n", name);
            return 1;
        }
    }
    for (int i = 0; i < workers; i++)
        if (pids[i] > 0) kill(pids[i], SIGTERM);
    for (int i = 0; i < workers; i++)
        if (pids[i] > 0) waitpid(pids[i], NULL, 0);
    return 0;
}

#endif
