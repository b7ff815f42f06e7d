/* echo_client.c — pipelined line load for bench/echo.
 *
 * Connects to 127.0.0.1:PORT, writes N lines of 32 bytes (30 printable
 * bytes + "\r\n") as fast as the socket takes them while reading the
 * echoes back on the same connection, checks that every echoed byte equals
 * what was sent, and prints
 *   lines=N seconds=S lines_per_s=R
 * Usage: echo_client PORT [LINES [TIMEOUT_SECONDS]]
 * Exit status 0 on success, 1 on a mismatch, error or timeout.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>

#define LINE 32
#define IO_CHUNK (256 * 1024)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: echo_client PORT [LINES [TIMEOUT]]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    size_t lines = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
    double timeout = argc > 3 ? atof(argv[3]) : 60;
    size_t total = lines * LINE;
    char *out = malloc(total), *in = malloc(IO_CHUNK);
    if (!out || !in)
        return 1;
    for (size_t i = 0; i < lines; i++) {
        char *l = out + i * LINE;
        for (int k = 0; k < LINE - 2; k++)
            l[k] = (char)('!' + (i * 31 + (size_t)k) % 94);
        l[LINE - 2] = '\r';
        l[LINE - 1] = '\n';
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("echo_client: connect");
        return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

    size_t sent = 0, got = 0, nl = 0;
    double t0 = now(), deadline = t0 + timeout;
    while (nl < lines) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (sent < total)
            pfd.events |= POLLOUT;
        if (poll(&pfd, 1, 1000) < 0 && errno != EINTR) {
            perror("echo_client: poll");
            return 1;
        }
        if (now() > deadline) {
            fprintf(stderr, "echo_client: timed out after %zu of %zu lines\n",
                    nl, lines);
            return 1;
        }
        if ((pfd.revents & POLLOUT) && sent < total) {
            size_t n = total - sent < IO_CHUNK ? total - sent : IO_CHUNK;
            ssize_t w = send(fd, out + sent, n, MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                perror("echo_client: send");
                return 1;
            }
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, in, IO_CHUNK, 0);
            if (r == 0) {
                fprintf(stderr, "echo_client: server closed after %zu "
                        "lines\n", nl);
                return 1;
            }
            if (r < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                perror("echo_client: recv");
                return 1;
            }
            if (got + (size_t)r > total
                || memcmp(in, out + got, (size_t)r) != 0) {
                fprintf(stderr, "echo_client: echo differs near byte %zu\n",
                        got);
                return 1;
            }
            const char *s = in, *end = in + r, *q;
            while ((q = memchr(s, '\n', (size_t)(end - s))) != NULL) {
                nl++;
                s = q + 1;
            }
            got += (size_t)r;
        }
    }
    double t = now() - t0;
    close(fd);
    printf("lines=%zu seconds=%.4f lines_per_s=%.0f\n", lines, t,
           (double)lines / t);
    free(out);
    free(in);
    return 0;
}
