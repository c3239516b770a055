/*
 * version.h — the Tusk version comes from the top-level VERSION file, passed
 * by the Makefile as -DTUSK_VERSION; nothing else writes it down. The
 * application id (TUSK_APP_ID: the desktop entry, AppStream metadata and
 * icon names) comes from the Makefile's APP_ID the same way.
 */
#ifndef TUSK_VERSION_H
#define TUSK_VERSION_H
#ifndef TUSK_VERSION
#error "TUSK_VERSION is set by the Makefile from the VERSION file"
#endif
#ifndef TUSK_APP_ID
#error "TUSK_APP_ID is set by the Makefile (APP_ID)"
#endif
#endif
