/* libFuzzer target for the shared AWS files' reader (aws/credentials_profile.c):
 * ~/.aws/config and ~/.aws/credentials are the user's files, edited by hand
 * and by tools. Checked (abort on failure):
 *  - every key read is lowercase, has no '=' and neither it nor its value
 *    has whitespace at its ends or a LF; keys are unique (any case)
 *    and tycho_aws_profile_get finds each one's value;
 *  - the merge: what the credentials file alone gives is in the merged
 *    profile as is (marked in_credentials), and every other merged key is
 *    what the config file alone gives; found is either file's found;
 *  - how the files are laid out never changes what is read: the same files
 *    with CRLF line ends (edited on Windows), or with a comment and a
 *    blank line after every line, give the same profile and services;
 *  - check_found / check_keys return their documented values, with a
 *    message whenever they refuse.
 * The files are memfds read through /proc/self/fd: no disk, no cleanup.
 *
 * Input: the profile name (up to the first '\n'; empty: "default"), then the
 * config file up to the first '\f', then the credentials file.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh aws_profile. */
#define _GNU_SOURCE
#include "aws/credentials_profile.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_TARGET "aws_profile"
#include "tests/fuzz/fuzz_check.h"

typedef struct file {
    int fd;
    char path[64];
} file_t;

static void file_put(file_t *f, const char *p, size_t n)
{
    f->fd = memfd_create("aws", 0);
    CHECK(f->fd >= 0, "memfd_create failed");
    CHECK(write(f->fd, p, n) == (ssize_t)n, "writing the file failed");
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

/* p with a comment and a blank line after each of its lines, or with CRLF line ends */
static void file_put_laid_out(file_t *f, const char *p, size_t n, int crlf)
{
    static const char extra[] = "\n  # a comment = x\n\n;[not a section";
    char *out = malloc(n * sizeof extra + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            if (crlf)
                *o++ = '\r';
            else
                o += sprintf(o, "%s", extra);
        }
        *o++ = p[i];
    }
    file_put(f, out, (size_t)(o - out));
    free(out);
}

static void file_close(file_t *f)
{
    close(f->fd);
}

static int has_edge_space(const char *s)
{
    size_t n = strlen(s);
    return n && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]));
}

static void check_kvs(const tycho_aws_profile_kv_t *kv, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        const char *k = kv[i].key, *v = kv[i].value;
        CHECK(k && v, "%s %zu without key or value", what, i);
        for (const char *c = k; *c; c++)
            CHECK(!isupper((unsigned char)*c), "%s key '%s' not lowercase", what, k);
        CHECK(!strchr(k, '=') && !strchr(k, '\n') && !strchr(v, '\n'),
              "%s '%s' = '%s': '=' in the key or a line break", what, k, v);
        CHECK(!has_edge_space(k) && !has_edge_space(v), "%s '%s' = '%s' not trimmed", what, k, v);
        for (size_t j = 0; j < i; j++)
            CHECK(strcasecmp(kv[j].key, k) != 0, "%s key '%s' twice", what, k);
    }
}

static void check_same(const tycho_aws_profile_t *a, const tycho_aws_profile_t *b, const char *how)
{
    CHECK(a->found == b->found && a->nkv == b->nkv && a->nservices == b->nservices &&
              !a->syntax_error[0] == !b->syntax_error[0],
          "%s: found %d/%d, %zu/%zu keys, %zu/%zu services, syntax error '%s'/'%s'", how, a->found,
          b->found, a->nkv, b->nkv, a->nservices, b->nservices, a->syntax_error, b->syntax_error);
    for (size_t i = 0; i < a->nkv; i++)
        CHECK(strcmp(a->kv[i].key, b->kv[i].key) == 0 &&
                  strcmp(a->kv[i].value, b->kv[i].value) == 0 &&
                  a->kv[i].in_credentials == b->kv[i].in_credentials,
              "%s: key %zu '%s' = '%s' became '%s' = '%s'", how, i, a->kv[i].key, a->kv[i].value,
              b->kv[i].key, b->kv[i].value);
    for (size_t i = 0; i < a->nservices; i++)
        CHECK(strcmp(a->services[i].key, b->services[i].key) == 0 &&
                  strcmp(a->services[i].value, b->services[i].value) == 0,
              "%s: service key '%s' = '%s' became '%s' = '%s'", how, a->services[i].key,
              a->services[i].value, b->services[i].key, b->services[i].value);
}

static void load(const char *name, const file_t *cfg, const file_t *cred, tycho_aws_profile_t *p)
{
    CHECK(tycho_aws_profile_load_files(name, cfg ? cfg->path : NULL, cred ? cred->path : NULL, p) ==
              0,
          "load failed");
    check_kvs(p->kv, p->nkv, "key");
    check_kvs(p->services, p->nservices, "service key");
    for (size_t i = 0; i < p->nkv; i++)
        CHECK(tycho_aws_profile_get(p, p->kv[i].key) == p->kv[i].value, "get('%s') missed",
              p->kv[i].key);
}

static const tycho_aws_profile_kv_t *find(const tycho_aws_profile_t *p, const char *key)
{
    for (size_t i = 0; i < p->nkv; i++)
        if (strcmp(p->kv[i].key, key) == 0) return &p->kv[i];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *end = in + size;
    const char *nl = memchr(in, '\n', size);
    if (!nl) return 0;
    size_t namelen = (size_t)(nl - in);
    if (namelen >= 100 || memchr(in, '\0', namelen)) return 0; /* a C string, as from AWS_PROFILE */
    char name[100];
    memcpy(name, in, namelen);
    name[namelen] = '\0';
    const char *cfg_p = nl + 1;
    const char *ff = memchr(cfg_p, '\f', (size_t)(end - cfg_p));
    size_t cfg_n = (size_t)((ff ? ff : end) - cfg_p);
    const char *cred_p = ff ? ff + 1 : end;
    size_t cred_n = (size_t)(end - cred_p);

    file_t cfg, cred;
    file_put(&cfg, cfg_p, cfg_n);
    file_put(&cred, cred_p, cred_n);
    tycho_aws_profile_t both, cfg_only, cred_only, again;
    load(name, &cfg, &cred, &both);
    load(name, &cfg, NULL, &cfg_only);
    load(name, NULL, &cred, &cred_only);

    CHECK(both.found == (cfg_only.found || cred_only.found), "found %d, from the files %d and %d",
          both.found, cfg_only.found, cred_only.found);
    for (size_t i = 0; i < cred_only.nkv; i++) {
        const tycho_aws_profile_kv_t *m = find(&both, cred_only.kv[i].key);
        CHECK(m && strcmp(m->value, cred_only.kv[i].value) == 0 && m->in_credentials,
              "credentials' '%s' = '%s' is not in the merge as is", cred_only.kv[i].key,
              cred_only.kv[i].value);
    }
    for (size_t i = 0; i < both.nkv; i++) {
        if (find(&cred_only, both.kv[i].key)) continue;
        const tycho_aws_profile_kv_t *c = find(&cfg_only, both.kv[i].key);
        CHECK(c && strcmp(c->value, both.kv[i].value) == 0 && !both.kv[i].in_credentials,
              "merged '%s' = '%s' is in neither file", both.kv[i].key, both.kv[i].value);
    }

    char err[512] = "";
    int rc = tycho_aws_profile_check_found(&both, err, sizeof err);
    int want = both.syntax_error[0] ? -22 : (both.found || !namelen) ? 0 : -2;
    CHECK(rc == want && (!rc || err[0]), "check_found %d ('%s'), want %d", rc, err, want);
    err[0] = '\0';
    rc = tycho_aws_profile_check_keys(&both, err, sizeof err);
    int akid = tycho_aws_profile_get(&both, "aws_access_key_id") != NULL;
    int secret = tycho_aws_profile_get(&both, "AWS_SECRET_ACCESS_KEY") != NULL;
    want = akid && secret ? 1 : !akid && !secret ? 0 : -22;
    CHECK(rc == want && (rc != -22 || err[0]), "check_keys %d ('%s'), want %d", rc, err, want);
    for (size_t i = 0; i < both.nservices; i++) {
        const char *k = both.services[i].key, *dot = strstr(k, ".endpoint_url");
        if (!dot || dot[13] || (size_t)(dot - k) >= 100) continue;
        char svc[100];
        snprintf(svc, sizeof svc, "%.*s", (int)(dot - k), k);
        CHECK(tycho_aws_profile_service_endpoint(&both, svc), "no endpoint for service '%s'", svc);
    }

    for (int crlf = 0; crlf <= 1; crlf++) {
        file_t cfg2, cred2;
        file_put_laid_out(&cfg2, cfg_p, cfg_n, crlf);
        file_put_laid_out(&cred2, cred_p, cred_n, crlf);
        load(name, &cfg2, &cred2, &again);
        check_same(&both, &again, crlf ? "CRLF line ends" : "comments and blank lines");
        tycho_aws_profile_free(&again);
        file_close(&cfg2);
        file_close(&cred2);
    }

    tycho_aws_profile_free(&both);
    tycho_aws_profile_free(&cfg_only);
    tycho_aws_profile_free(&cred_only);
    file_close(&cfg);
    file_close(&cred);
    return 0;
}
