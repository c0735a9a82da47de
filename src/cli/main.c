/* main.c — the `stele` command (being written; see issue 2). */
#include <stdio.h>

#include "stele.h"

int main(void)
{
    printf("stele %s\n", STELE_VERSION);
    return 0;
}
