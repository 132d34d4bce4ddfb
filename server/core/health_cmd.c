#include "core/health_cmd.h"

#include "core/config.h"
#include "core/units.h"
#include "http/url_redact.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: tycho health [--url URL] [--timeout SECONDS]\n\n"
                 "GETs URL and exits 0 on a 2xx answer, 1 otherwise (connection refused,\n"
                 "timeout, 503 while draining, ...), 2 on bad arguments. URL is http:// or\n"
                 "https://; by default /health on the port of TYCHO_LISTEN (8080 when unset),\n"
                 "at 127.0.0.1 (::1) when tycho listens on every address, else at the address\n"
                 "it listens on. The container health check: the image needs no curl.\n"
                 "--timeout: how long to wait for the whole answer, seconds or with a unit\n"
                 "(500ms, 2s) [3]\n");
}

/* The URL a bare `tycho health` checks: /health where `tycho serve` with the
 * same environment listens. 0, or -1 after saying why on stderr. */
static int default_url(char *url, size_t n)
{
    tycho_config_t cfg;
    char err[512];
    tycho_config_defaults(&cfg);
    if (tycho_config_from_env(&cfg, &cfg.listen, err, sizeof err) != 0) {
        fprintf(stderr, "tycho health: %s\n", err);
        return -1;
    }
    const tycho_addr_t *a = &cfg.listen;
    if (a->port == 0) {
        fprintf(stderr, "tycho health: TYCHO_LISTEN: port 0 is picked at start; give --url\n");
        return -1;
    }
    const char *host = a->host;
    if (!strcmp(host, "0.0.0.0")) host = "127.0.0.1";
    if (!strcmp(host, "::")) host = "::1";
    char hostport[80];
    tycho_config_format_addr(host, a->port, hostport, sizeof hostport);
    snprintf(url, n, "http://%s/health", hostport);
    return 0;
}

/* A GET of url: 0 on a 2xx, else 1 after saying why (url shown redacted). */
static int check(const char *url, double timeout)
{
    char shown[1024];
    tycho_url_redact(url, shown, sizeof shown);
    CURL *c = curl_easy_init();
    if (!c) return fprintf(stderr, "tycho health: cannot initialise libcurl\n"), 1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "tycho health: %s: %s\n", shown, curl_easy_strerror(rc));
        return 1;
    }
    if (status < 200 || status > 299) {
        fprintf(stderr, "tycho health: %s answered %ld\n", shown, status);
        return 1;
    }
    return 0;
}

static int is_http_url(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* --url and --timeout into url and timeout: 0, 1 (--help printed) or -1
 * after saying why on stderr. */
static int parse_args(int argc, char **argv, const char **url, double *timeout)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout), 1;
        if (strcmp(a, "--url") != 0 && strcmp(a, "--timeout") != 0) {
            fprintf(stderr, "tycho health: unknown option: %s (see tycho health --help)\n", a);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "tycho health: %s: missing value\n", a);
            return -1;
        }
        const char *val = argv[++i];
        uint64_t ms;
        if (!strcmp(a, "--url")) {
            *url = val;
        } else if (tycho_parse_duration_ms(val, 1000, &ms) != 0 || ms == 0) {
            fprintf(stderr,
                    "tycho health: --timeout: not a positive duration: %s (seconds, or with a "
                    "unit: 500ms, 2s)\n",
                    val);
            return -1;
        } else {
            *timeout = (double)ms / 1000;
        }
    }
    return 0;
}

int tycho_cmd_health(int argc, char **argv)
{
    const char *url = NULL;
    char fallback[128];
    double timeout = 3; /* --help and README.md say so */
    int rc = parse_args(argc, argv, &url, &timeout);
    if (rc != 0) return rc == 1 ? 0 : 2;
    if (url && !is_http_url(url)) {
        char shown[1024];
        tycho_url_redact(url, shown, sizeof shown);
        fprintf(stderr, "tycho health: --url must be an http:// or https:// URL: %s\n", shown);
        return 2;
    }
    if (!url && default_url(fallback, sizeof fallback) != 0) return 2;
    return check(url ? url : fallback, timeout);
}
