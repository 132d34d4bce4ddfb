#include "http/served_method.h"

#include <llhttp.h>
#include <stdio.h>
#include <string.h>

/* llhttp's own list, so a newer llhttp that learns a method (QUERY) lets
 * routes declare it without a change here */
static const char *const parsed[] = {
#define XX(num, name, string) #string,
    HTTP_METHOD_MAP(XX)
#undef XX
};

static int served(const char *name)
{
    return strcmp(name, "CONNECT") != 0;
}

int tycho_http_served_method(const char *method, size_t n)
{
    for (size_t i = 0; i < sizeof parsed / sizeof *parsed; i++)
        if (strlen(parsed[i]) == n && memcmp(parsed[i], method, n) == 0) return served(parsed[i]);
    return 0;
}

void tycho_http_served_methods(char *out, size_t outlen)
{
    size_t off = 0;
    if (outlen) out[0] = 0;
    for (size_t i = 0; i < sizeof parsed / sizeof *parsed; i++) {
        if (!served(parsed[i])) continue;
        int k = snprintf(out + off, outlen - off, "%s%s", off ? ", " : "", parsed[i]);
        if (k < 0 || (size_t)k >= outlen - off) return;
        off += (size_t)k;
    }
}
