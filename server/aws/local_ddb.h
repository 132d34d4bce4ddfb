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
#include <stdint.h>

/* Executes DynamoDB_20120810.<op> with the parsed request body. */
void tycho_local_ddb_exec(tycho_local_store_t *s, const char *op, cJSON *req, int64_t now_ms,
                          tycho_local_result_t *res);
/* Creates the tables of a TYCHO_LOCAL_TABLES spec (LOCAL.md) that do not
 * exist yet (an existing table must have the same keys); s NULL only checks
 * the spec. 0, or -1 with err naming the table and the option as written
 * ("table t: ttl=x: ttl is given twice (once per table)"). */
int tycho_local_ddb_configure(tycho_local_store_t *s, const char *spec, int64_t now_ms, char *err,
                              size_t errlen);

/* TTL. Each item keeps the TTL it carries under its table's TTL attribute
 * (a Number, epoch seconds) in ddb_items.ttl, NULL without one, written with
 * the item; the partial index ddb_items_ttl(tbl, ttl) finds the expired.
 * Reads decide from the item itself, by the same rule (an item whose TTL is
 * in [now - 5 years, now] reads as absent). */

/* Registers tycho_ddb_ttl(item, attr), the SQL function the column is
 * computed with, on s->db (on open, before any upgrade). 0 or -1. */
int tycho_local_ddb_functions(tycho_local_store_t *s);
/* Sets ddb_items.ttl of every item of table (NULL: of every table with TTL)
 * from its table's TTL attribute: reads each of them (the layout upgrade,
 * and a change of a table's TTL attribute). 0, or -1 (SQLite's error on
 * s->db). */
int tycho_local_ddb_fill_ttl(tycho_local_store_t *s, const char *table);
/* Deletes at most max items whose TTL has passed at now_ms, found through
 * the index (reads already hide them). The number deleted (max: more may be
 * due), or -1 (SQLite's error on s->db, or out of memory). */
int tycho_local_ddb_sweep(tycho_local_store_t *s, int64_t now_ms, int max);

#endif
