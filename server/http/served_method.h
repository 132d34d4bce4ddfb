/* served_method — the request methods tycho can serve: those its parser
 * (llhttp, HTTP_METHOD_MAP) reads in a request line, but CONNECT, which it
 * answers 501 (parser.c). Any other token is a 501 before routing, so a route
 * may only declare one of these (loader.c). Pure, any thread. */
#ifndef TYCHO_HTTP_SERVED_METHOD_H
#define TYCHO_HTTP_SERVED_METHOD_H

#include <stddef.h>

/* 1 when method[0..n) is one of them (exact case), else 0. */
int tycho_http_served_method(const char *method, size_t n);

/* Their names, ", "-separated, NUL-terminated in out (cut short if out is
 * too small). */
void tycho_http_served_methods(char *out, size_t outlen);

#endif
