#include "http/date.h"

#include <stdio.h>
#include <time.h>

static _Thread_local char t_date[TYCHO_HTTP_DATE_LEN + 1];
static _Thread_local time_t t_second = -1;

const char *tycho_http_date_now(void)
{
    time_t now = time(NULL);
    if (now != t_second) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(t_date, sizeof t_date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        t_second = now;
    }
    return t_date;
}
