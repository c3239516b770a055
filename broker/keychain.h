/*
 * keychain.h — the OS keychain (Secret Service, through libsecret), off the
 * broker's loop.
 *
 * Every call runs on one keychain thread and answers on the broker's loop,
 * later, through its callback; each is bounded in time (a hung Secret
 * Service costs a request its bound, never the loop). Nothing here ever
 * prompts: a locked or missing keyring is reported, not unlocked.
 */
#ifndef TUSK_KEYCHAIN_H
#define TUSK_KEYCHAIN_H

#include <stdbool.h>

struct event_base;
struct tusk_error;

enum secret_kind { SK_DB, SK_SSH, SK_SSH_KEY, SK_SSL_KEY, SK__COUNT };

/* Outcomes. */
#define KC_OK 0
#define KC_NOT_FOUND 1
#define KC_ERROR (-1)

/*
 * The answer: status KC_OK / KC_NOT_FOUND / KC_ERROR (e says why, with a
 * hint). secret is set for a found lookup; the callback owns it and must
 * wipe it (secret_free).
 */
typedef void (*keychain_cb)(int status, char *secret, const struct tusk_error *e, void *arg);

int keychain_init(struct event_base *base, int timeout_ms);
void keychain_shutdown(void);
const char *secret_kind_name(enum secret_kind k);

/* Store a secret for a saved connection (replacing an older one). */
void keychain_store(const char *conn_id, enum secret_kind kind, const char *label,
    const char *secret, keychain_cb cb, void *arg);
void keychain_lookup(const char *conn_id, enum secret_kind kind, keychain_cb cb, void *arg);
/* Remove every secret of a connection. */
void keychain_clear(const char *conn_id, keychain_cb cb, void *arg);
/* Is the keychain usable right now (running, answering, unlocked)? */
void keychain_probe(keychain_cb cb, void *arg);

#endif
