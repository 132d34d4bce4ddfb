#include "core/health_cmd.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_URL "http://127.0.0.1:8080/health"

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: tycho health [--url URL] [--timeout SECONDS]\n\n"
                 "GETs URL (default " DEFAULT_URL ") and exits 0 on a 2xx answer, 1 otherwise\n"
                 "(connection refused, timeout, 503 while draining, ...). The container health\n"
                 "check: the image needs no curl.\n");
}

int tycho_cmd_health(int argc, char **argv)
{
    const char *url = DEFAULT_URL;
    double timeout = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout), 0;
        if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout = atof(argv[++i]);
        else
            return usage(stderr), 2;
    }
    if (timeout <= 0) {
        fprintf(stderr, "tycho health: --timeout must be a positive number of seconds\n");
        return 2;
    }
    CURL *c = curl_easy_init();
    if (!c) return fprintf(stderr, "tycho health: cannot initialise libcurl\n"), 1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "tycho health: %s: %s\n", url, curl_easy_strerror(rc));
        return 1;
    }
    if (status < 200 || status > 299) {
        fprintf(stderr, "tycho health: %s answered %ld\n", url, status);
        return 1;
    }
    return 0;
}
