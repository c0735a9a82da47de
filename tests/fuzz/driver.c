/*
 * driver.c — runs a libFuzzer target without libFuzzer, so that CTest (and CI under
 * ASan/UBSan) exercises every fuzz target: random inputs, plus mutations of seed
 * inputs from tests/fuzz/seeds/<target>/ if present. Deterministic per seed
 * (STELE_SEED). Iterations: STELE_FUZZ_ITERS (default 20000).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void mutate(uint8_t *b, size_t *n, size_t cap)
{
    int ops = 1 + (int)(next() % 4);
    for (int i = 0; i < ops; i++) {
        size_t at = *n ? (size_t)(next() % *n) : 0;
        switch (next() % 4) {
        case 0: if (*n) b[at] ^= (uint8_t)(1u << (next() % 8)); break;
        case 1: if (*n) b[at] = (uint8_t)next(); break;
        case 2: if (*n) *n = at; break; /* truncate */
        default: if (*n < cap) { b[*n] = (uint8_t)next(); (*n)++; } break;
        }
    }
}

static size_t load_seeds(const char *dir, uint8_t seeds[][4096], size_t *lens, size_t max)
{
    DIR *d = dir ? opendir(dir) : NULL;
    size_t k = 0;
    struct dirent *de;
    while (d && k < max && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        lens[k] = fread(seeds[k], 1, 4096, f);
        fclose(f);
        k++;
    }
    if (d) closedir(d);
    return k;
}

int main(int argc, char **argv)
{
    static uint8_t seeds[64][4096];
    static size_t lens[64];
    const char *s = getenv("STELE_SEED"), *it = getenv("STELE_FUZZ_ITERS");
    if (s) rng = strtoull(s, NULL, 0) | 1;
    long iters = it ? atol(it) : 20000;
    size_t nseed = load_seeds(argc > 1 ? argv[1] : NULL, seeds, lens, 64);
    uint8_t buf[8192];
    for (long i = 0; i < iters; i++) {
        size_t n;
        if (nseed && (i & 1)) {
            size_t k = (size_t)(next() % nseed);
            memcpy(buf, seeds[k], lens[k]);
            n = lens[k];
            mutate(buf, &n, sizeof buf);
        } else {
            n = (size_t)(next() % 600);
            for (size_t j = 0; j < n; j++) buf[j] = (uint8_t)next();
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("%ld inputs, 0 crashes (%zu seeds)\n1 passed, 0 failed\n", iters, nseed);
    return 0;
}
