#include <stdio.h>
int main(void) { puts("sterna " STERNA_VERSION); return 0; }
