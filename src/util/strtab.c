/*
 * strtab.c — see strtab.h. Layer: util.
 */
#include "util/strtab.h"

#include <stdlib.h>
#include <string.h>

static uint64_t str_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: a table hash, not security */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

const char *strtab_get(const strtab *t, uint32_t id, size_t *len)
{
    STELE_ASSERT(id < t->n);
    *len = t->off[id + 1] - t->off[id];
    return (const char *)t->chars.data + t->off[id];
}

uint32_t strtab_find(const strtab *t, const char *s, size_t len)
{
    if (!t->tabcap) return STRTAB_NONE;
    size_t j = str_hash(s, len) & (t->tabcap - 1);
    for (size_t probes = 0; t->tab[j] && probes < t->tabcap; probes++) {
        size_t l;
        const char *e = strtab_get(t, t->tab[j] - 1, &l);
        if (l == len && memcmp(e, s, len) == 0) return t->tab[j] - 1;
        j = (j + 1) & (t->tabcap - 1);
    }
    return STRTAB_NONE;
}

static int strtab_rehash(strtab *t, size_t cap)
{
    uint32_t *tab = calloc(cap, sizeof *tab);
    if (!tab) return -1;
    free(t->tab);
    t->tab = tab;
    t->tabcap = cap;
    for (uint32_t i = 0; i < t->n; i++) {
        size_t l;
        const char *s = strtab_get(t, i, &l);
        size_t j = str_hash(s, l) & (cap - 1);
        while (tab[j]) j = (j + 1) & (cap - 1);
        tab[j] = i + 1;
    }
    return 0;
}

uint32_t strtab_add(strtab *t, const char *s, size_t len)
{
    if (t->chars.len + len > UINT32_MAX || t->n >= UINT32_MAX - 2) return STRTAB_NONE;
    if ((t->n + 1) * (size_t)2 > t->tabcap &&
        strtab_rehash(t, t->tabcap ? t->tabcap * 2 : 256) != 0)
        return STRTAB_NONE;
    if (t->n + 1 >= t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 256;
        uint32_t *off = realloc(t->off, (size_t)cap * sizeof *off);
        if (!off) return STRTAB_NONE;
        t->off = off;
        t->cap = cap;
        if (t->n == 0) off[0] = 0;
    }
    if (buf_append(&t->chars, s, len) != 0) return STRTAB_NONE;
    uint32_t id = t->n++;
    t->off[id + 1] = (uint32_t)t->chars.len;
    size_t j = str_hash(s, len) & (t->tabcap - 1);
    while (t->tab[j]) j = (j + 1) & (t->tabcap - 1);
    t->tab[j] = id + 1;
    return id;
}

void strtab_release(strtab *t)
{
    buf_release(&t->chars);
    free(t->off);
    free(t->tab);
    memset(t, 0, sizeof *t);
}

size_t strtab_bytes(const strtab *t)
{
    return t->chars.cap + (size_t)t->cap * 4 + t->tabcap * 4;
}

void strtab_truncate(strtab *t, uint32_t n)
{
    STELE_ASSERT(n <= t->n);
    if (n == t->n) return;
    t->n = n;
    t->chars.len = t->off[n];
    /* Re-place the ids kept, in the same table: no allocation, so no failure. */
    memset(t->tab, 0, t->tabcap * sizeof *t->tab);
    for (uint32_t i = 0; i < n; i++) {
        size_t l;
        const char *e = strtab_get(t, i, &l);
        size_t j = str_hash(e, l) & (t->tabcap - 1);
        while (t->tab[j]) j = (j + 1) & (t->tabcap - 1);
        t->tab[j] = i + 1;
    }
}
