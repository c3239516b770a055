/* uuid.h — random (version 4) UUIDs in their 36-character text form. */
#ifndef TUSK_UUID_H
#define TUSK_UUID_H

#include <stdbool.h>
#include <stddef.h>

#define UUID_STR_LEN 37 /* 36 characters and a NUL */

void uuid_v4(char out[UUID_STR_LEN]);
/* Is s (len bytes) a UUID in canonical text form (any version)? */
bool uuid_valid(const char *s, size_t len);

#endif
