#include "http/known_method.h"

#include <string.h>

int tycho_http_known_method(const char *method, size_t n)
{
    static const char *const known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                        "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i]) == n && memcmp(known[i], method, n) == 0) return 1;
    return 0;
}
