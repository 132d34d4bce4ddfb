/* date — the IMF-fixdate for the Date header, formatted once per second per
 * thread (each thread keeps its own cache; no sharing). */
#ifndef TYCHO_HTTP_DATE_H
#define TYCHO_HTTP_DATE_H

#include <stddef.h>

#define TYCHO_HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Returns a NUL-terminated date for the current second (thread-local buffer). */
const char *tycho_http_date_now(void);

#endif
