/* url_redact — a URL as a message, log line or span may show it: no
 * password, no query. Used wherever a configured or caller-given URL is
 * echoed (AWS endpoints, tycho.http, `tycho health`). Pure; any thread. */
#ifndef TYCHO_HTTP_URL_REDACT_H
#define TYCHO_HTTP_URL_REDACT_H

#include <stddef.h>

/* url as it may be shown: user:password@ becomes "***@", a query or
 * fragment becomes "?...". Without a well-formed "scheme://" everything up
 * to the last '@' before the query is taken for userinfo; when what stands
 * before the first '/', '?' or '#' is no host[:port] (a password holding
 * one of them: "http://u:pa/ss@host/"), everything up to the URL's last
 * '@' (a bracketed host is a host only when it holds an IPv6 address:
 * "u:a@[x]/c@host" hides "u:a@[x]/c"). When it is a host:port but the
 * path holds an '@' before any '?' or '#' and a ':' comes before that '@'
 * (a password "12/34" in
 * "http://u:12/34@host/", which RFC 3986 and curl read as host u, port 12,
 * path "/34@host/"), everything up to that '@' is hidden too. So a path
 * with an '@' after a port ("http://h:80/u/a@b" shows "***@b" after the
 * scheme) loses more than it must, and a pasted password never shows. A
 * host that is an IPv6 literal ("[::1]:80/a@b") keeps its path, unless a
 * userinfo with a ':' comes before it ("u:pw@[::1]/x@b" shows "***@b":
 * the password may be "pw@[::1]/x"). The one
 * password still shown in part is digits then '?' or '#' ("u:12?34@h"
 * shows "u:12?..."): what follows a '?' is a query to every reader.
 * 1 when url had userinfo, else 0. */
int tycho_url_redact(const char *url, char *out, size_t n);

/* The userinfo tycho_url_redact hides ("user:password", without its '@'),
 * its length in *len; NULL when url has none. */
const char *tycho_url_userinfo(const char *url, size_t *len);

/* The length of the host that s[0..n) ("host[:port]...", an authority
 * after any userinfo) starts with: up to a ':', '/', '?' or '#', or a
 * bracketed IPv6 literal with its brackets. 0 for a '[' never closed. */
size_t tycho_url_host_len(const char *s, size_t n);

#endif
