#include <stdio.h>
int main(void)
{
    printf("tycho %s\n", TYCHO_VERSION);
    return 0;
}
