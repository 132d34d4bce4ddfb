#define _GNU_SOURCE /* asprintf */
/* INI reading follows the AWS CLI / botocore configloader: '#' and ';' start
 * comment lines, keys are case-insensitive, an indented "k = v" after a key
 * with an empty value is a nested key (used by the services section). */
#include "aws/credentials_profile.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int kv_set(tycho_aws_profile_kv_t **kv, size_t *n, const char *key, const char *value,
                  int in_credentials)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcasecmp((*kv)[i].key, key) == 0) {
            char *v = strdup(value);
            if (!v) return -ENOMEM;
            free((*kv)[i].value);
            (*kv)[i].value = v;
            (*kv)[i].in_credentials = in_credentials;
            return 0;
        }
    }
    tycho_aws_profile_kv_t *nk = realloc(*kv, (*n + 1) * sizeof **kv);
    if (!nk) return -ENOMEM;
    *kv = nk;
    nk[*n].key = strdup(key);
    nk[*n].value = strdup(value);
    if (!nk[*n].key || !nk[*n].value) {
        free(nk[*n].key);
        free(nk[*n].value);
        return -ENOMEM;
    }
    for (char *p = nk[*n].key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    nk[*n].in_credentials = in_credentials;
    (*n)++;
    return 0;
}

/* Reads every key of section `want` (already normalised) from path; the
 * first header line without its ']' goes into syntax_error (when empty). */
static int read_section(const char *path, int is_config, const char *want,
                        tycho_aws_profile_kv_t **kv, size_t *n, int *found, char syntax_error[400])
{
    if (!path) return 0;
    FILE *f = fopen(path, "r");
    if (!f) return 0; /* a missing file is no error */
    char *line = NULL;
    size_t cap = 0;
    int in = 0, rc = 0, lineno = 0;
    char *parent = NULL; /* the key with an empty value nested keys go under */
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        int indented = line[0] == ' ' || line[0] == '\t';
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end) {
                if (!syntax_error[0])
                    snprintf(syntax_error, 400,
                             "%.256s line %d: a section header without its closing ']'", path,
                             lineno);
                in = 0; /* what follows belongs to no profile we can name */
                continue;
            }
            *end = '\0';
            char *name = trim(s + 1);
            if (is_config && strncmp(name, "profile ", 8) == 0)
                name = trim(name + 8);
            else if (is_config && strcmp(name, "default") != 0 &&
                     strncmp(name, "services ", 9) != 0)
                name = ""; /* config: a profile other than default needs "profile " */
            in = strcmp(name, want) == 0;
            if (in) *found = 1;
            free(parent);
            parent = NULL;
            continue;
        }
        if (!in) continue;
        char *eq = strchr(s, '=');
        if (!eq) continue;
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        if (indented && parent) {
            /* whole, however long: a key cut to a buffer could end in a
             * space or run into another long key */
            char *full;
            if (asprintf(&full, "%s.%s", parent, k) < 0) {
                rc = -ENOMEM;
                break;
            }
            rc = kv_set(kv, n, full, v, !is_config);
            free(full);
        } else {
            free(parent);
            parent = NULL;
            if (!*v && *k && !(parent = strdup(k))) rc = -ENOMEM;
            if (!rc) rc = kv_set(kv, n, k, v, !is_config);
        }
        if (rc) break;
    }
    free(parent);
    free(line);
    fclose(f);
    return rc;
}

static char *expand_home(const char *p, const char *dflt)
{
    const char *home = getenv("HOME");
    char buf[4096];
    if (!p || !*p) {
        if (!home) return NULL;
        snprintf(buf, sizeof buf, "%s/%s", home, dflt);
    } else if (p[0] == '~' && p[1] == '/' && home) {
        snprintf(buf, sizeof buf, "%s%s", home, p + 1);
    } else {
        snprintf(buf, sizeof buf, "%s", p);
    }
    return strdup(buf);
}

int tycho_aws_profile_load_files(const char *name, const char *config_path,
                                 const char *credentials_path, tycho_aws_profile_t *out)
{
    memset(out, 0, sizeof *out);
    if (name && *name) out->named_by = "profile option";
    if (!name || !*name) name = "default";
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->config_path, sizeof out->config_path, "%s", config_path ? config_path : "");
    snprintf(out->credentials_path, sizeof out->credentials_path, "%s",
             credentials_path ? credentials_path : "");
    int rc = read_section(config_path, 1, out->name, &out->kv, &out->nkv, &out->found,
                          out->syntax_error);
    /* the credentials file wins over config for the same key */
    if (!rc)
        rc = read_section(credentials_path, 0, out->name, &out->kv, &out->nkv, &out->found,
                          out->syntax_error);
    const char *svc = tycho_aws_profile_get(out, "services");
    if (!rc && svc && *svc) {
        char section[300];
        int dummy = 0;
        snprintf(section, sizeof section, "services %s", svc);
        rc = read_section(config_path, 1, section, &out->services, &out->nservices, &dummy,
                          out->syntax_error);
    }
    if (rc) tycho_aws_profile_free(out);
    return rc;
}

int tycho_aws_profile_load(const char *name, tycho_aws_profile_t *out)
{
    const char *named_by = NULL;
    if (!name || !*name) {
        name = getenv("AWS_PROFILE");
        named_by = "AWS_PROFILE";
    }
    if (!name || !*name) {
        name = getenv("AWS_DEFAULT_PROFILE");
        named_by = "AWS_DEFAULT_PROFILE";
    }
    char *cfg = expand_home(getenv("AWS_CONFIG_FILE"), ".aws/config");
    char *cred = expand_home(getenv("AWS_SHARED_CREDENTIALS_FILE"), ".aws/credentials");
    int rc = tycho_aws_profile_load_files(name, cfg, cred, out);
    if (rc == 0 && named_by && name && *name) out->named_by = named_by;
    free(cfg);
    free(cred);
    return rc;
}

static void kv_free(tycho_aws_profile_kv_t *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        if (kv[i].value) {
            /* values may be secrets (aws_secret_access_key) */
            memset(kv[i].value, 0, strlen(kv[i].value));
            free(kv[i].value);
        }
    }
    free(kv);
}

void tycho_aws_profile_free(tycho_aws_profile_t *p)
{
    if (!p) return;
    kv_free(p->kv, p->nkv);
    kv_free(p->services, p->nservices);
    p->kv = p->services = NULL;
    p->nkv = p->nservices = 0;
}

int tycho_aws_profile_check_found(const tycho_aws_profile_t *p, char *err, size_t errlen)
{
    if (p->syntax_error[0]) {
        snprintf(err, errlen, "aws shared files: %s", p->syntax_error);
        return -EINVAL;
    }
    if (p->found || !p->named_by) return 0;
    snprintf(err, errlen, "%s: profile \"%.64s\" not found in %s or %s", p->named_by, p->name,
             p->config_path[0] ? p->config_path : "(no config file)",
             p->credentials_path[0] ? p->credentials_path : "(no credentials file)");
    return -ENOENT;
}

static const tycho_aws_profile_kv_t *find(const tycho_aws_profile_t *p, const char *key)
{
    if (!p) return NULL;
    for (size_t i = 0; i < p->nkv; i++)
        if (strcasecmp(p->kv[i].key, key) == 0) return &p->kv[i];
    return NULL;
}

const char *tycho_aws_profile_get(const tycho_aws_profile_t *p, const char *key)
{
    const tycho_aws_profile_kv_t *kv = find(p, key);
    return kv ? kv->value : NULL;
}

int tycho_aws_profile_check_keys(const tycho_aws_profile_t *p, char *err, size_t errlen)
{
    static const char AKID[] = "aws_access_key_id", SECRET[] = "aws_secret_access_key";
    const tycho_aws_profile_kv_t *akid = find(p, AKID), *secret = find(p, SECRET);
    if (akid && secret) return 1;
    if (!akid && !secret) return 0;
    const tycho_aws_profile_kv_t *set = akid ? akid : secret;
    snprintf(err, errlen,
             "profile \"%.64s\" in %s: %s is set but %s is missing (set both, or neither)", p->name,
             set->in_credentials ? p->credentials_path : p->config_path, akid ? AKID : SECRET,
             akid ? SECRET : AKID);
    return -EINVAL;
}

const char *tycho_aws_profile_service_endpoint(const tycho_aws_profile_t *p, const char *svc)
{
    if (!p) return NULL;
    char key[128];
    snprintf(key, sizeof key, "%s.endpoint_url", svc);
    for (size_t i = 0; i < p->nservices; i++)
        if (strcasecmp(p->services[i].key, key) == 0) return p->services[i].value;
    return NULL;
}
