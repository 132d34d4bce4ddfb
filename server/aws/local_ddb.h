/* local_ddb — the DynamoDB half of the local executor (local_store.h):
 * tables with hash/range keys and global secondary indexes, items as
 * canonical JSON with extracted key columns, conditional writes, update
 * expressions, Query/Scan with pagination, batch operations and TTL
 * (PROTOCOLS.md §8). Called by local_store.c inside the request's
 * transaction; same thread. */
#ifndef TYCHO_LOCAL_DDB_H
#define TYCHO_LOCAL_DDB_H

#include "aws/local_store.h"

#include <cJSON.h>

/* Executes DynamoDB_20120810.<op> with the parsed request body. */
void tycho_local_ddb_exec(tycho_local_store_t *s, const char *op, cJSON *req, int64_t now_ms,
                          tycho_local_result_t *res);
/* Creates the tables of a TYCHO_LOCAL_TABLES spec (LOCAL.md) that do not
 * exist yet (an existing table must have the same keys); s NULL only checks
 * the spec. 0, or -1 with err naming the table and the option as written
 * ("table t: ttl=x: ttl is given twice (once per table)"). */
int tycho_local_ddb_configure(tycho_local_store_t *s, const char *spec, int64_t now_ms, char *err,
                              size_t errlen);

/* Deletes items whose TTL attribute has passed (reads already hide them). */
int tycho_local_ddb_sweep(tycho_local_store_t *s, int64_t now_ms);

#endif
