/*
 * version.h — the Tusk version comes from the top-level VERSION file, passed
 * by the Makefile as -DTUSK_VERSION; nothing else writes it down.
 */
#ifndef TUSK_VERSION_H
#define TUSK_VERSION_H
#ifndef TUSK_VERSION
#error "TUSK_VERSION is set by the Makefile from the VERSION file"
#endif
#endif
