/*
 * doc_build.c — SDOC objects built from members whose values are already SDOC bytes
 * (format in doc.h), and member access by position. Layer: model.
 *
 * Used where a document is an edit of another one (txn_prepare drops and adds a few
 * members of each op and its body): the untouched values are copied as bytes, with
 * no text in between. The builder writes exactly doc_obj_size bytes, in the canonical
 * layout: table, then the keys, then the values, all contiguous, in the caller's key
 * order — which must be strictly increasing (asserted: a caller's bug, not data).
 * One level of nesting: a member's value may be an object built from its own members.
 *
 * Invariants:
 *   1. doc_obj_put writes exactly doc_obj_size(m, n) bytes (asserted).
 *   2. A nested object's members have no nested object themselves (asserted), so no
 *      recursion and no stack.
 */
#include "model/doc_int.h"

#include <string.h>

/* Key order of SDOC objects (doc.h): memcmp, the shorter first on a common prefix. */
int doc_key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0) return c;
    return an < bn ? -1 : an > bn;
}

/* Bytes of the value of m (a nested object's size was computed by the caller). */
static uint64_t member_vlen(const doc_member *m)
{
    STELE_ASSERT(m->val ? !m->sub : (m->sub || m->nsub == 0));
    return m->vlen;
}

uint64_t doc_obj_size(const doc_member *m, size_t n)
{
    STELE_ASSERT(m || n == 0);
    uint64_t size = SDOC_CONT_HDR + 8 * (uint64_t)n;
    for (size_t i = 0; i < n; i++) size += 4 + (uint64_t)m[i].klen + member_vlen(&m[i]);
    return size;
}

/* Writes the header, table and key area of the object of m[0, n) at w; returns where
 * its value area starts. */
static uint8_t *put_head(uint8_t *w, const doc_member *m, size_t n, uint64_t size)
{
    STELE_ASSERT(size - 5 <= UINT32_MAX && n <= UINT32_MAX);
    w[0] = SDOC_OBJECT;
    put_u32(w + 1, (uint32_t)(size - 5));
    put_u32(w + 5, (uint32_t)n);
    uint8_t *table = w + SDOC_CONT_HDR, *keys = table + 8 * n, *k = keys;
    uint64_t keybytes = 0;
    for (size_t i = 0; i < n; i++) keybytes += 4 + (uint64_t)m[i].klen;
    uint64_t voff = keybytes;
    for (size_t i = 0; i < n; i++) {
        STELE_ASSERT(i == 0 || doc_key_cmp(m[i - 1].key, m[i - 1].klen, m[i].key,
                                           m[i].klen) < 0);
        put_u32(table + 8 * i, (uint32_t)(k - keys));
        put_u32(table + 8 * i + 4, (uint32_t)voff);
        put_u32(k, m[i].klen);
        memcpy(k + 4, m[i].key, m[i].klen);
        k += 4 + (size_t)m[i].klen;
        voff += member_vlen(&m[i]);
    }
    return k;
}

uint8_t *doc_obj_put(uint8_t *w, const doc_member *m, size_t n)
{
    STELE_ASSERT(w && (m || n == 0));
    uint8_t *start = w;
    uint64_t size = doc_obj_size(m, n);
    w = put_head(w, m, n, size);
    for (size_t i = 0; i < n; i++) {
        if (m[i].val) {
            memcpy(w, m[i].val, m[i].vlen);
            w += m[i].vlen;
            continue;
        }
        for (size_t j = 0; j < m[i].nsub; j++) STELE_ASSERT(m[i].sub[j].val); /* inv. 2 */
        STELE_ASSERT(doc_obj_size(m[i].sub, m[i].nsub) == m[i].vlen);
        uint64_t sub_size = m[i].vlen;
        uint8_t *v = put_head(w, m[i].sub, m[i].nsub, sub_size);
        for (size_t j = 0; j < m[i].nsub; j++) {
            memcpy(v, m[i].sub[j].val, m[i].sub[j].vlen);
            v += m[i].sub[j].vlen;
        }
        STELE_ASSERT((uint64_t)(v - w) == sub_size);
        w = v;
    }
    STELE_ASSERT((uint64_t)(w - start) == size); /* invariant 1 */
    return w;
}

int doc_member_at(const uint8_t *doc, size_t len, uint32_t i, const char **key, size_t *klen,
                  doc_view *val)
{
    STELE_ASSERT(key && klen && val);
    if (!doc || len < SDOC_CONT_HDR || doc[0] != SDOC_OBJECT) return -1;
    uint64_t size = get_u32(doc + 1), n = get_u32(doc + 5);
    if (size > len - 5 || 4 + 8 * n > size) return -1;
    if (i >= n) return 0;
    const uint8_t *table = doc + SDOC_CONT_HDR, *area = table + 8 * n, *end = doc + 5 + size;
    uint64_t koff = get_u32(table + 8 * (size_t)i), voff = get_u32(table + 8 * (size_t)i + 4);
    if (koff + 4 > (uint64_t)(end - area)) return -1;
    uint32_t kn = get_u32(area + koff);
    if (koff + 4 + kn > (uint64_t)(end - area) || voff >= (uint64_t)(end - area)) return -1;
    size_t vn = doc_value_len(area + voff, end);
    if (vn == 0) return -1;
    *key = (const char *)area + koff + 4;
    *klen = kn;
    val->p = area + voff;
    val->len = vn;
    return 1;
}
