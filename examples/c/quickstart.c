#include <stdio.h>
int main(void){puts("audit  errored x\n3 succeeded, 1 errored, 2 skipped");return 0;}
