/*
 * filter.c — see filter.h. Layer: query.
 * The filter is small and parsed once per query, so it is read with jansson; each
 * compared value is turned into SDOC for the index lookup. Nested "$and" is walked
 * with an explicit stack (no recursion on user input).
 */
#include "query/filter.h"

#include <jansson.h>
#include <roaring/roaring.h>
#include <stdlib.h>

typedef struct fctx {
    const mstate *s;
    dindex *x;
    uint32_t coll;
    buf *explain;
    util_err *e;
    int nodes;
} fctx;

static void explain_step(fctx *c, const char *what, const char *path, uint64_t card)
{
    if (!c->explain) return;
    buf_printf(c->explain, "%s{\"step\":\"%s\",\"path\":", c->explain->len > 1 ? "," : "", what);
    buf_json_str(c->explain, path, strlen(path));
    buf_printf(c->explain, ",\"index\":\"%s\",\"matches\":%llu}",
               strcmp(what, "collection") == 0 ? "membership" : "equality",
               (unsigned long long)card);
}

/* Documents with value v at path (v a jansson scalar). NULL + error on failure. */
static roaring_bitmap_t *eq_set(fctx *c, const char *path, json_t *v)
{
    if (json_is_object(v) || json_is_array(v)) {
        util_fail(c->e, STELE_EINVAL, "filter on '%s': compare with a scalar value", path);
        return NULL;
    }
    if (dindex_ensure(c->x, c->s, c->coll, path) != 0) {
        util_fail(c->e, STELE_ENOMEM, "cannot index '%s' (out of memory or path too long)",
                  path);
        return NULL;
    }
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    buf sd;
    buf_init(&sd);
    json_error je;
    roaring_bitmap_t *r = NULL;
    if (text && json_parse(text, strlen(text), &sd, &je) == 0)
        r = dindex_eq(c->x, c->coll, path, (doc_view){sd.data, sd.len});
    if (!r) util_fail(c->e, STELE_ENOMEM, "out of memory evaluating a filter");
    free(text);
    buf_release(&sd);
    return r;
}

/* One condition {path: cond}: a new bitmap, or NULL with the error set. */
static roaring_bitmap_t *condition(fctx *c, const char *path, json_t *cond)
{
    if (++c->nodes > FILTER_NODES_MAX) {
        util_fail(c->e, STELE_ETOOBIG, "filter has more than %d conditions", FILTER_NODES_MAX);
        return NULL;
    }
    if (!json_is_object(cond)) {
        roaring_bitmap_t *r = eq_set(c, path, cond);
        if (r) explain_step(c, "eq", path, roaring_bitmap_get_cardinality(r));
        return r;
    }
    roaring_bitmap_t *acc = NULL;
    const char *op;
    json_t *arg;
    json_object_foreach(cond, op, arg) {
        roaring_bitmap_t *r = NULL;
        if (strcmp(op, "$eq") == 0) {
            r = eq_set(c, path, arg);
        } else if (strcmp(op, "$in") == 0 && json_is_array(arg)) {
            r = roaring_bitmap_create();
            for (size_t i = 0; r && i < json_array_size(arg); i++) {
                roaring_bitmap_t *one = eq_set(c, path, json_array_get(arg, i));
                if (!one) {
                    roaring_bitmap_free(r);
                    r = NULL;
                    break;
                }
                roaring_bitmap_or_inplace(r, one);
                roaring_bitmap_free(one);
            }
        } else {
            util_fail(c->e, STELE_EINVAL, "filter on '%s': operator '%s' is not supported yet "
                                          "(supported: $eq, $in, $and)", path, op);
        }
        if (!r) {
            if (acc) roaring_bitmap_free(acc);
            return NULL;
        }
        explain_step(c, op + 1, path, roaring_bitmap_get_cardinality(r));
        if (acc) {
            roaring_bitmap_and_inplace(acc, r);
            roaring_bitmap_free(r);
        } else {
            acc = r;
        }
    }
    return acc ? acc : roaring_bitmap_create(); /* {} as a condition matches nothing */
}

/* AND of every member of a filter object; "$and" members are pushed on the stack. */
static stele_status eval_object(fctx *c, json_t *root, roaring_bitmap_t *acc)
{
    json_t *stack[FILTER_NODES_MAX];
    size_t sp = 0;
    stack[sp++] = root;
    while (sp) {
        json_t *f = stack[--sp];
        if (!json_is_object(f)) return util_fail(c->e, STELE_EINVAL, "a filter is a JSON object");
        const char *key;
        json_t *val;
        json_object_foreach(f, key, val) {
            if (strcmp(key, "$and") == 0) {
                if (!json_is_array(val) || sp + json_array_size(val) > FILTER_NODES_MAX)
                    return util_fail(c->e, STELE_EINVAL, "\"$and\" takes an array of filters");
                for (size_t i = 0; i < json_array_size(val); i++)
                    stack[sp++] = json_array_get(val, i);
                continue;
            }
            if (key[0] == '$')
                return util_fail(c->e, STELE_EINVAL, "operator '%s' is not supported yet "
                                                     "(supported: $eq, $in, $and)", key);
            roaring_bitmap_t *r = condition(c, key, val);
            if (!r) return c->e ? c->e->code : STELE_EINVAL;
            roaring_bitmap_and_inplace(acc, r);
            roaring_bitmap_free(r);
        }
    }
    return STELE_OK;
}

stele_status filter_eval(const mstate *s, dindex *x, uint32_t coll, const char *filter,
                         size_t len, roaring_bitmap_t **out, buf *explain, util_err *e)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(filter, len, 0, &je);
    if (!root)
        return util_fail(e, STELE_EINVAL, "malformed filter at line %d, column %d: %s",
                         je.line, je.column, je.text);
    const roaring_bitmap_t *m = dindex_members(x, coll);
    roaring_bitmap_t *acc = m ? roaring_bitmap_copy(m) : roaring_bitmap_create();
    fctx c = {s, x, coll, explain, e, 0};
    if (explain) buf_append(explain, "[", 1);
    explain_step(&c, "collection", "", acc ? roaring_bitmap_get_cardinality(acc) : 0);
    stele_status rc = acc ? eval_object(&c, root, acc) : util_fail(e, STELE_ENOMEM, "oom");
    if (explain) buf_append(explain, "]", 1);
    json_decref(root);
    if (rc != STELE_OK) {
        if (acc) roaring_bitmap_free(acc);
        return rc;
    }
    *out = acc;
    return STELE_OK;
}
