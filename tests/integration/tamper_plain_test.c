/*
 * tamper_plain_test.c — tamper_test.c on a --no-encryption database: every flipped
 * byte, swapped, deleted, truncated or rolled-back file must be caught as in a sealed
 * one (plaintext boxes carry SHA-256 checksums; the chain and the superblock do the
 * rest).
 */
#define TAMPER_NO_ENCRYPTION 1
#include "tamper_test.c"
