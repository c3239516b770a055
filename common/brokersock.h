/*
 * brokersock.h — how a client reaches the broker: connect to its Unix
 * socket, and start tuskd (found beside the client's own executable, else
 * on PATH) when nothing listens there, as tmux starts its server.
 *
 * Used by tuskctl and by the tusk-ui gateway (one connection per page).
 */
#ifndef TUSK_BROKERSOCK_H
#define TUSK_BROKERSOCK_H

#include <stdbool.h>

struct tusk_error;

/*
 * Connect to the broker's socket (paths.h decides where it is). When it is
 * absent and start is true, start tuskd and wait up to 2 s for it. Returns
 * a connected, close-on-exec stream fd, or -1 with e set (a Connection
 * error with a hint).
 */
int brokersock_open(bool start, struct tusk_error *e);

/* Connect to a Unix stream socket at path (-1 and errno on failure). */
int brokersock_connect_path(const char *path);

#endif
